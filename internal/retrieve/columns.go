package retrieve

// columns hold, per dense index, what filters and facets read, interned into small
// integers in flat arrays: a scan reads a few bytes per product instead of chasing
// the row's strings (that pointer chasing made a filtered browse of 50k products
// cost tens of milliseconds on a busy machine). Guarded by Index.mu.
type columns struct {
	alive  []bool
	brand  []uint32
	cat    []uint32
	gender []uint32
	price  []float32
	sizes  []uint64 // bit i: in stock in the size interned as i; bit 63: some size beyond 63

	brandIDs, catIDs, genderIDs map[string]uint32 // value -> id (from 1)
	brandKeys, catKeys, genKeys []string          // id -> value ([0] = "")
	sizeBits                    map[string]uint8
}

const overflowBit = 63

func newColumns() columns {
	return columns{
		brandIDs: map[string]uint32{}, catIDs: map[string]uint32{}, genderIDs: map[string]uint32{},
		brandKeys: []string{""}, catKeys: []string{""}, genKeys: []string{""}, sizeBits: map[string]uint8{},
	}
}

func intern(ids map[string]uint32, keys *[]string, v string) uint32 {
	if v == "" {
		return 0
	}
	if id, ok := ids[v]; ok {
		return id
	}
	id := uint32(len(*keys))
	ids[v] = id
	*keys = append(*keys, v)
	return id
}

// set stores row r at dense index d (appending when d is the next index).
func (c *columns) set(d int32, r *row) {
	var bits uint64
	for _, s := range r.sizes {
		b, ok := c.sizeBits[s]
		if !ok {
			b = uint8(min(len(c.sizeBits), overflowBit))
			if b < overflowBit {
				c.sizeBits[s] = b
			}
		}
		bits |= 1 << b
	}
	price := float32(0)
	if r.p != nil {
		price = float32(r.p.Price)
	}
	vals := [...]uint32{intern(c.brandIDs, &c.brandKeys, r.brand), intern(c.catIDs, &c.catKeys, r.category), intern(c.genderIDs, &c.genKeys, r.gender)}
	if int(d) == len(c.alive) {
		c.alive = append(c.alive, r.p != nil)
		c.brand = append(c.brand, vals[0])
		c.cat = append(c.cat, vals[1])
		c.gender = append(c.gender, vals[2])
		c.price = append(c.price, price)
		c.sizes = append(c.sizes, bits)
		return
	}
	c.alive[d] = r.p != nil
	c.brand[d], c.cat[d], c.gender[d] = vals[0], vals[1], vals[2]
	c.price[d] = price
	c.sizes[d] = bits
}

// colFilter is a filters value compiled against the columns.
type colFilter struct {
	none               bool // a filter value no product has: nothing matches
	any                bool // no filter at all
	brand, cat         uint32
	gender, unisex     uint32 // unisex: a second accepted gender id, or 0
	sizeMask           uint64
	sizeSlow           string // a size past the 63 interned ones: check the row
	priced             bool
	priceMin, priceMax float32
}

// compile resolves f against the columns. mu held (read).
func (c *columns) compile(f *filters) colFilter {
	cf := colFilter{any: *f == filters{}}
	look := func(ids map[string]uint32, v string) uint32 {
		if v == "" {
			return 0
		}
		id, ok := ids[v]
		if !ok {
			cf.none = true
		}
		return id
	}
	cf.brand = look(c.brandIDs, f.brand)
	cf.cat = look(c.catIDs, f.category)
	if f.gender != "" {
		g, ok := c.genderIDs[f.gender]
		if f.gender == "men" || f.gender == "women" {
			cf.unisex = c.genderIDs["unisex"]
		}
		if !ok && cf.unisex == 0 {
			cf.none = true
		}
		if !ok {
			g = cf.unisex // only unisex products can match
		}
		cf.gender = g
	}
	if f.size != "" {
		if b, ok := c.sizeBits[f.size]; ok {
			cf.sizeMask = 1 << b
		} else if len(c.sizeBits) >= overflowBit {
			cf.sizeMask, cf.sizeSlow = 1<<overflowBit, f.size
		} else {
			cf.none = true
		}
	}
	if f.priced() {
		cf.priced, cf.priceMin, cf.priceMax = true, float32(f.priceMin), float32(f.priceMax)
	}
	return cf
}

// match reports whether the product at d passes. mu held (read); rows for sizeSlow.
func (cf *colFilter) match(c *columns, rows []row, d int32) bool {
	if cf.any {
		return true
	}
	if cf.brand != 0 && c.brand[d] != cf.brand || cf.cat != 0 && c.cat[d] != cf.cat {
		return false
	}
	if cf.gender != 0 && c.gender[d] != cf.gender && (cf.unisex == 0 || c.gender[d] != cf.unisex) {
		return false
	}
	if cf.priced {
		p := c.price[d]
		if p <= 0 || p < cf.priceMin || cf.priceMax > 0 && p > cf.priceMax {
			return false
		}
	}
	if cf.sizeMask != 0 {
		if c.sizes[d]&cf.sizeMask == 0 {
			return false
		}
		if cf.sizeSlow != "" && !contains(rows[d].sizes, cf.sizeSlow) {
			return false
		}
	}
	return true
}

// facetCounter counts facet values over matching products, by interned id.
type facetCounter struct {
	brand, cat, gender []int
	price              []int
}

func newFacetCounter(c *columns) *facetCounter {
	return &facetCounter{make([]int, len(c.brandKeys)), make([]int, len(c.catKeys)), make([]int, len(c.genKeys)), make([]int, len(PriceRanges))}
}

func (fc *facetCounter) add(c *columns, d int32) {
	fc.brand[c.brand[d]]++
	fc.cat[c.cat[d]]++
	fc.gender[c.gender[d]]++
	if pr := float64(c.price[d]); pr > 0 {
		for i, b := range PriceRanges {
			if pr >= b.Min && pr < b.Max {
				fc.price[i]++
				break
			}
		}
	}
}

// facetsOf turns the counts into Facets. mu held (read).
func (x *Index) facetsOf(fc *facetCounter) *Facets {
	toMap := func(counts []int, keys []string) map[string]int {
		m := map[string]int{}
		for id, n := range counts {
			if id > 0 && n > 0 {
				m[keys[id]] = n
			}
		}
		return m
	}
	f := &Facets{
		Brand:    x.topCounts(toMap(fc.brand, x.cols.brandKeys)),
		Category: x.topCounts(toMap(fc.cat, x.cols.catKeys)),
		Gender:   x.topCounts(toMap(fc.gender, x.cols.genKeys)),
	}
	for i, b := range PriceRanges {
		f.Price = append(f.Price, FacetCount{b.Name, fc.price[i]})
	}
	return f
}
