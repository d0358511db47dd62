package retrieve

import "sort"

// speller finds the catalog words within one edit (insertion, deletion, substitution
// or adjacent transposition) of a query word with a symmetric-delete dictionary: each
// word is filed under itself and every string one deletion away, so a lookup is a few
// map reads instead of a Levenshtein scan of the vocabulary or Bleve's fuzzy query.
// Not safe for concurrent use: the Index guards it.
type speller struct {
	df      map[string]int32    // word -> products whose head fields hold it
	deletes map[string][]string // word minus one byte -> words (never shrinks; df checks liveness)
}

const minSpellLen = 5 // shortest query word that is corrected

func newSpeller() *speller {
	return &speller{df: make(map[string]int32), deletes: make(map[string][]string)}
}

func (s *speller) add(w string) {
	if len(w) < minSpellLen-1 || !isASCIILetters(w) {
		return
	}
	s.df[w]++
	if s.df[w] > 1 {
		return
	}
	for i := 0; i < len(w); i++ {
		d := w[:i] + w[i+1:]
		if !contains(s.deletes[d], w) {
			s.deletes[d] = append(s.deletes[d], w)
		}
	}
}

func (s *speller) remove(w string) {
	if n, ok := s.df[w]; ok {
		if n <= 1 {
			delete(s.df, w)
		} else {
			s.df[w] = n - 1
		}
	}
}

func contains(ws []string, w string) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}

// suggest returns up to max words within one edit of w, most frequent first; w
// itself is never among them.
func (s *speller) suggest(w string, max int) []string {
	if len(w) < minSpellLen || !isASCIILetters(w) || len(w) > maxTokenBytes {
		return nil
	}
	var cands []string
	consider := func(c string) {
		if c != w && s.df[c] > 0 && !contains(cands, c) && within1(w, c) {
			cands = append(cands, c)
		}
	}
	for _, c := range s.deletes[w] { // w plus one byte
		consider(c)
	}
	var buf [maxTokenBytes]byte
	for i := 0; i < len(w); i++ {
		n := copy(buf[:], w[:i])
		n += copy(buf[n:], w[i+1:])
		d := string(buf[:n])
		consider(d) // w minus one byte
		for _, c := range s.deletes[d] {
			consider(c) // substitution or transposition
		}
	}
	sort.Slice(cands, func(a, b int) bool {
		if s.df[cands[a]] != s.df[cands[b]] {
			return s.df[cands[a]] > s.df[cands[b]]
		}
		return cands[a] < cands[b]
	})
	if len(cands) > max {
		cands = cands[:max]
	}
	return cands
}

// within1 reports whether a and b are at most one edit apart (optimal string
// alignment: insertion, deletion, substitution, adjacent transposition).
func within1(a, b string) bool {
	la, lb := len(a), len(b)
	if la > lb {
		a, b, la, lb = b, a, lb, la
	}
	if lb-la > 1 {
		return false
	}
	i := 0
	for i < la && a[i] == b[i] {
		i++
	}
	if i == la {
		return true
	}
	if la == lb {
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	}
	return a[i:] == b[i+1:] // insertion into a
}
