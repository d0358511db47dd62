package lake

import "hash/maphash"

// idFilter is an in-memory Bloom filter of the messageIds in the seen-set. It only
// answers "certainly not seen", which lets the writer skip the Pebble lookup for almost
// every new event; a "maybe" is checked in Pebble, so correctness never depends on it.
// Expired ids stay in it until the next start (they only cost a lookup).
type idFilter struct {
	bits []uint64
	k    int
	seed maphash.Seed
}

// newIDFilter sizes the filter for n ids at about 1% false positives (10 bits per id).
func newIDFilter(n int) *idFilter {
	words := max(n*10/64, 1024)
	return &idFilter{bits: make([]uint64, words), k: 7, seed: maphash.MakeSeed()}
}

func (f *idFilter) hashes(id string) (uint64, uint64) {
	h := maphash.String(f.seed, id)
	return h, (h >> 33) | (h << 31) | 1
}

func (f *idFilter) add(id string) {
	h1, h2 := f.hashes(id)
	m := uint64(len(f.bits) * 64)
	for i := range f.k {
		b := (h1 + uint64(i)*h2) % m
		f.bits[b/64] |= 1 << (b % 64)
	}
}

func (f *idFilter) mayContain(id string) bool {
	h1, h2 := f.hashes(id)
	m := uint64(len(f.bits) * 64)
	for i := range f.k {
		b := (h1 + uint64(i)*h2) % m
		if f.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// fillFilter adds every id of the seen-set to f.
func (s *seenSet) fillFilter(f *idFilter) error {
	it, err := s.db.NewIter(seenBounds())
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		f.add(string(it.Key()[1:]))
	}
	return it.Close()
}
