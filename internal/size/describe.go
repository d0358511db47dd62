package size

// DescribedFit reads a product description for the store's own sizing advice: "runs
// small", "order a size up" → RunsSmall; "runs large", "runs big", "size down" →
// RunsLarge; "true to size" or nothing said → "". Merchandisers write this when a
// product is cut off the brand's usual sizing, and before any returns come in it is
// the only word on a new product; the model takes it as one step (half a US shoe size,
// one letter, one waist inch) until the product's or brand's returns give a verdict
// of their own. Phrases are matched case-insensitively, without allocating: this runs
// on every /v1/size and search result.
func DescribedFit(desc string) string {
	small, large := false, false
	// every phrase starts with r or s: one pass, trying the phrases only there
	for i := 0; i < len(desc) && !(small && large); i++ {
		switch desc[i] | 0x20 {
		case 'r', 's':
			small = small || anyPhraseAt(desc, i, smallPhrases)
			large = large || anyPhraseAt(desc, i, largePhrases)
		}
	}
	switch {
	case small && !large:
		return RunsSmall
	case large && !small:
		return RunsLarge
	}
	return "" // says nothing, or says both (a description of several fits): no advice
}

var (
	smallPhrases = []string{"runs small", "run small", "running small", "size up", "sizing up", "runs tight"}
	largePhrases = []string{"runs large", "run large", "running large", "runs big", "run big", "size down", "sizing down", "runs loose"}
)

// anyPhraseAt reports whether one of the lower-case ASCII phrases starts at s[i:],
// ignoring the case of ASCII letters in s.
func anyPhraseAt(s string, i int, phrases []string) bool {
	for _, ph := range phrases {
		if hasPrefixFold(s[i:], ph) {
			return true
		}
	}
	return false
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
