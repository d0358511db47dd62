package retrieve

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the normaliser: longer tokens are cut, further query tokens ignored.
const (
	maxTokenBytes  = 40
	maxQueryTokens = 12
	maxDescTokens  = 400
)

// stopWords are dropped at index and query time: with AND semantics "shoes for men"
// must not require the word "for".
var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "and": true, "or": true, "for": true, "with": true,
	"of": true, "in": true, "to": true, "by": true, "at": true, "from": true,
}

// synonyms maps a stemmed token to the canonical token it is indexed and searched as.
// Folding synonyms into one token at both ends costs nothing at query time (one term,
// one posting list) where query expansion would add a disjunction per synonym.
var synonyms = map[string]string{
	// footwear
	"trainer": "sneaker", "kick": "sneaker", "sneaker": "sneaker", "runner": "sneaker",
	"pump": "heel", "stiletto": "heel", "heel": "heel",
	"flipflop": "sandal", "slide": "sandal",
	"bootie": "boot", "bootee": "boot",
	"moccasin": "loafer",
	// apparel
	"trouser": "pant", "slack": "pant", "chino": "pant",
	"jumper": "sweater", "pullover": "sweater",
	"tshirt": "tee", "teeshirt": "tee",
	"sweatshirt": "hoodie", "hoodie": "hoodie",
	"sweatpant": "jogger", "trackpant": "jogger",
	"cami": "tank", "camisole": "tank",
	"anorak": "parka",
	"purse":  "handbag",
	"denim":  "jean",
	// colours
	"grey": "gray",
	// audiences
	"woman": "women", "ladie": "women", "female": "women", "womens": "women",
	"man": "men", "male": "men", "gent": "men", "mens": "men",
	"child": "kid", "children": "kid", "youth": "kid", "kidz": "kid",
}

// bigramSynonyms replaces two consecutive (stemmed) tokens by one canonical token.
var bigramSynonyms = map[[2]string]string{
	{"t", "shirt"}:    "tee",
	{"tee", "shirt"}:  "tee",
	{"flip", "flop"}:  "sandal",
	{"sweat", "pant"}: "jogger",
	{"track", "pant"}: "jogger",
	{"tank", "top"}:   "tank",
	{"high", "heel"}:  "heel",
}

// Analyze returns the canonical tokens of s, as indexed and searched. It is exported
// so that other packages (features, evaluation) tokenise exactly as retrieval does.
func Analyze(s string) []string { return analyze(nil, s, -1) }

// analyze appends the canonical tokens of s to dst, at most max of them (max < 0: all).
func analyze(dst []string, s string, max int) []string {
	start := len(dst)
	var buf [maxTokenBytes]byte
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		tok := stem(string(buf[:n]))
		n = 0
		if stopWords[tok] {
			return
		}
		if c, ok := synonyms[tok]; ok {
			tok = c
		}
		if k := len(dst); k > start {
			if c, ok := bigramSynonyms[[2]string{dst[k-1], tok}]; ok {
				dst[k-1] = c
				return
			}
		}
		dst = append(dst, tok)
	}
	prevDigit := false
	for i := 0; i < len(s); {
		if max >= 0 && len(dst)-start >= max {
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\'' || r == '\u2019':
			continue // women's -> womens
		case (r == '.' || r == ',') && prevDigit && i < len(s) && s[i] >= '0' && s[i] <= '9':
			if n < maxTokenBytes {
				buf[n] = '.'
				n++
			}
			continue
		}
		r = fold(r)
		if r == 0 || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			flush()
			prevDigit = false
			continue
		}
		prevDigit = r >= '0' && r <= '9'
		r = unicode.ToLower(r)
		if n+utf8.RuneLen(r) <= maxTokenBytes {
			n += utf8.EncodeRune(buf[n:], r)
		}
	}
	if max < 0 || len(dst)-start < max {
		flush()
	}
	return dst
}

// fold maps accented Latin letters to their base letter.
func fold(r rune) rune {
	if r < 0xC0 || r > 0x17F {
		return r
	}
	const from = "àáâãäåèéêëìíîïòóôõöùúûüýÿñçÀÁÂÃÄÅÈÉÊËÌÍÎÏÒÓÔÕÖÙÚÛÜÝÑÇ"
	const to = "aaaaaaeeeeiiiiooooouuuuyyncaaaaaaeeeeiiiiooooouuuuync"
	j := 0
	for _, f := range from {
		if f == r {
			return rune(to[j])
		}
		j++
	}
	return r
}

// stem is a light English plural stemmer tuned for product words: shoes->shoe,
// dresses->dress, boxes->box, hoodies->hoodie, jeans->jean; it keeps dress, tennis,
// cactus. A final consonant+y becomes "ie" so that hoody/hoodies/hoodie meet.
func stem(t string) string {
	l := len(t)
	if l < 3 || !isASCIILetters(t) {
		return t
	}
	switch {
	case l > 4 && (strings.HasSuffix(t, "sses") || strings.HasSuffix(t, "xes") ||
		strings.HasSuffix(t, "ches") || strings.HasSuffix(t, "shes")):
		t = t[:l-2]
	case strings.HasSuffix(t, "ss") || strings.HasSuffix(t, "us") || strings.HasSuffix(t, "is"):
	case l > 3 && t[l-1] == 's':
		t = t[:l-1]
	}
	if l = len(t); l > 3 && t[l-1] == 'y' && !isVowel(t[l-2]) {
		t = t[:l-1] + "ie"
	}
	return t
}

func isVowel(b byte) bool { return b == 'a' || b == 'e' || b == 'i' || b == 'o' || b == 'u' }

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// normKey normalises a keyword value (brand, category, gender, size) for filters
// and facets: trimmed, lower-cased, inner whitespace collapsed.
func normKey(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || (c >= 'A' && c <= 'Z') || (c == ' ' && i > 0 && s[i-1] == ' ') || c == '\t' || c == '\n' || c == '\r' {
			simple = false
			break
		}
	}
	if simple {
		return s
	}
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// normGender folds the usual spellings of an audience to men, women, unisex, kids.
func normGender(s string) string {
	k := normKey(s)
	switch k {
	case "m", "male", "man", "men", "mens", "men's", "gents":
		return "men"
	case "w", "f", "female", "woman", "women", "womens", "women's", "ladies":
		return "women"
	case "u", "unisex", "all", "any":
		return "unisex"
	case "kid", "kids", "child", "children", "boys", "girls", "youth", "junior":
		return "kids"
	}
	return k
}

// normSize folds size spellings: "2XL" -> "xxl", " 9.5 " -> "9.5".
func normSize(s string) string {
	k := normKey(s)
	switch k {
	case "2xl":
		return "xxl"
	case "3xl":
		return "xxxl"
	case "2xs":
		return "xxs"
	}
	return k
}
