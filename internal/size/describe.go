package size

// DescribedFit reads a product description for the store's own sizing advice: "runs
// small", "order a size up" → RunsSmall; "runs large", "runs big", "size down" →
// RunsLarge; anything else → "". Merchandisers write this when a product is cut off
// the brand's usual sizing, and before any returns come in it is the only word on a new
// product; the model takes it as one step (half a US shoe size, one letter, one waist
// inch) until the product's or brand's returns give a verdict of their own.
//
// It reads conservatively, since a misread moves every shopper a size: phrases count
// only as whole words ("oversize upper" and "size up to 3XL" say nothing); one after
// "no need to", "don't", "do not", "not", "never" or "if" is no advice; a description
// that says "true to size" or "between sizes", or both directions, says nothing.
// Phrases are matched case-insensitively without allocating: this runs on every
// /v1/size answer and search result.
func DescribedFit(desc string) string {
	small, large := false, false
	for i := 0; i < len(desc); i++ {
		c := desc[i] | 0x20
		if c != 'r' && c != 's' && c != 't' && c != 'b' || i > 0 && isWordByte(desc[i-1]) {
			continue
		}
		for _, ph := range noAdvicePhrases {
			if phraseAt(desc, i, ph) {
				return ""
			}
		}
		if s := phraseAtAny(desc, i, smallPhrases); s > 0 && !negatedBefore(desc, i) {
			small = true
		}
		if l := phraseAtAny(desc, i, largePhrases); l > 0 && !negatedBefore(desc, i) {
			large = true
		}
	}
	switch {
	case small && !large:
		return RunsSmall
	case large && !small:
		return RunsLarge
	}
	return ""
}

var (
	smallPhrases    = []string{"runs small", "run small", "running small", "size up", "sizing up", "runs tight"}
	largePhrases    = []string{"runs large", "run large", "running large", "runs big", "run big", "size down", "sizing down", "runs loose"}
	noAdvicePhrases = []string{"true to size", "between sizes"}
	negations       = []string{"no need to", "don't", "do not", "not", "never", "if", "or"}
)

// phraseAtAny is the length of the first of phrases found as a whole word at s[i:], 0 if none.
func phraseAtAny(s string, i int, phrases []string) int {
	for _, ph := range phrases {
		if phraseAt(s, i, ph) {
			return len(ph)
		}
	}
	return 0
}

// phraseAt reports whether the lower-case ASCII phrase starts at s[i:], ignoring the
// case of ASCII letters in s, and ends a word there (not "size upper", "size up to").
func phraseAt(s string, i int, ph string) bool {
	if !hasPrefixFold(s[i:], ph) {
		return false
	}
	j := i + len(ph)
	if j < len(s) && isWordByte(s[j]) {
		return false
	}
	return !hasPrefixFold(s[j:], " to ")
}

// negatedBefore reports whether the words just before s[i:] negate or condition it:
// "no need to size up", "don't size down", "if between sizes, size up", "size up or down".
func negatedBefore(s string, i int) bool {
	k := i
	for k > 0 && (s[k-1] == ' ' || s[k-1] == ',') {
		k--
	}
	for _, n := range negations {
		if k >= len(n) && hasPrefixFold(s[k-len(n):], n) && (k == len(n) || !isWordByte(s[k-len(n)-1])) {
			return true
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return 'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '\''
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for j := 0; j < len(prefix); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[j] {
			return false
		}
	}
	return true
}
