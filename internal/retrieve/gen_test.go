package retrieve

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

// A synthetic shoe-and-apparel catalog and query mix for tests and benchmarks
// (independent of the simulator package on purpose).

var (
	genBrands = []string{"Nike", "Adidas", "Puma", "New Balance", "Reebok", "Asics", "Vans", "Converse",
		"Dr. Martens", "Timberland", "Clarks", "UGG", "Birkenstock", "Steve Madden", "Sam Edelman", "Levi's",
		"Patagonia", "The North Face", "Columbia", "Carhartt", "Uniqlo", "Zara", "Gap", "Ralph Lauren",
		"Tommy Hilfiger", "Calvin Klein", "Lacoste", "Hugo Boss", "Skechers", "Brooks", "Hoka", "Salomon",
		"Merrell", "Keen", "Crocs", "Sorel", "Cole Haan", "Allbirds", "Lululemon", "Everlane"}
	genShoes = []string{"Sneakers", "Running Shoes", "Boots", "Ankle Boots", "Chelsea Boots", "Hiking Boots",
		"Sandals", "Heels", "Loafers", "Flats", "Slippers", "Trail Running Shoes", "Oxfords", "Mules", "Clogs"}
	genApparel = []string{"T-Shirt", "Hoodie", "Sweater", "Jeans", "Pants", "Shorts", "Dress", "Skirt", "Jacket",
		"Coat", "Parka", "Leggings", "Joggers", "Blouse", "Shirt", "Polo", "Cardigan", "Vest", "Blazer", "Tank Top"}
	genColors    = []string{"Black", "White", "Red", "Blue", "Navy", "Gray", "Brown", "Tan", "Green", "Pink", "Beige", "Burgundy", "Olive", "Yellow", "Purple", "Cream"}
	genMaterials = []string{"Leather", "Suede", "Canvas", "Mesh", "Cotton", "Wool", "Denim", "Polyester", "Nylon", "Linen", "Cashmere", "Fleece", "Knit", "Rubber"}
	genStyles    = []string{"Casual", "Athletic", "Formal", "Vintage", "Minimalist", "Outdoor", "Streetwear", "Classic", "Slim Fit", "Relaxed", "Retro", "Performance"}
	genAdjs      = []string{"Classic", "Premium", "Lightweight", "Waterproof", "Cushioned", "Slim", "Relaxed", "Cropped", "Oversized", "Essential", "Everyday", "Ultra", "Pro", "Original", "Platform", "Quilted", "Insulated", "Stretch"}
	genSentences = []string{"Pairs well with jeans and a jacket.", "Built for all-day comfort on the go.",
		"A wardrobe staple for every season.", "Great for running errands or a weekend trip.",
		"Breathable lining keeps you cool.", "Durable rubber outsole for grip on wet streets.",
		"Machine washable and easy to care for.", "Soft fabric with a little stretch.",
		"Designed in our studio and made to last.", "Looks great with sneakers or boots.",
		"Perfect for the office, the gym or a night out.", "Cushioned footbed for support.",
		"Water-resistant finish for rainy days.", "Relaxed fit with room to move."}
	genGenders = []string{"men", "women", "unisex", "kids"}
	shoeSizes  = []string{"5", "5.5", "6", "6.5", "7", "7.5", "8", "8.5", "9", "9.5", "10", "10.5", "11", "11.5", "12", "13"}
	alphaSizes = []string{"XS", "S", "M", "L", "XL", "XXL"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// zipf picks index i of n with probability ~ 1/(i+1).
func zipf(r *rand.Rand, n int) int {
	h := math.Log(float64(n)) + 0.5772
	u := r.Float64() * h
	i := int(math.Exp(u-0.5772)) - 1
	if i < 0 {
		i = 0
	}
	if i >= n {
		i = n - 1
	}
	return i
}

// genCatalog makes n products, deterministic for a seed.
func genCatalog(n int, seed uint64) []catalog.Product {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]catalog.Product, n)
	for i := range out {
		brand := genBrands[zipf(r, len(genBrands))]
		shoe := r.IntN(2) == 0
		var noun, cat, system string
		var sizes []string
		if shoe {
			noun, cat, system, sizes = pick(r, genShoes), "Shoes", catalog.SizeUSShoe, shoeSizes
		} else {
			noun, cat, system, sizes = pick(r, genApparel), "Apparel", catalog.SizeAlpha, alphaSizes
		}
		color, mat, style := pick(r, genColors), pick(r, genMaterials), pick(r, genStyles)
		name := fmt.Sprintf("%s %s %s %s", pick(r, genAdjs), color, mat, noun)
		if r.IntN(3) == 0 {
			name = fmt.Sprintf("%s %s %s", pick(r, genAdjs), pick(r, genAdjs), noun)
		}
		var desc strings.Builder
		fmt.Fprintf(&desc, "A %s %s %s in %s %s. ", strings.ToLower(style), strings.ToLower(noun), "by "+brand, strings.ToLower(color), strings.ToLower(mat))
		for k := 0; k < 2+r.IntN(3); k++ {
			desc.WriteString(pick(r, genSentences))
			desc.WriteByte(' ')
		}
		ss := make([]catalog.Size, 0, len(sizes))
		for _, s := range sizes {
			ss = append(ss, catalog.Size{Size: s, InStock: r.Float64() < 0.7})
		}
		out[i] = catalog.Product{
			ProductID: fmt.Sprintf("p%06d", i), Name: name, Brand: brand, Category: cat,
			Gender: pick(r, genGenders), Color: color, Material: mat, Style: style,
			Price: math.Round(math.Exp(3+r.NormFloat64()*0.6+1.0)*100) / 100, Description: desc.String(),
			SizeSystem: system, Sizes: ss,
		}
	}
	return out
}

var headQueries = []string{"black boots", "running shoes", "sneakers", "white sneakers", "boots", "sandals",
	"hoodie", "jeans", "dress", "leather jacket", "women boots", "men running shoes", "ankle boots", "heels",
	"chelsea boots", "black dress", "rain jacket", "nike", "adidas sneakers", "leggings", "t-shirt",
	"hiking boots", "slippers", "black jeans", "loafers", "white t-shirt", "parka", "sweater", "joggers", "shorts"}

type benchQuery struct {
	kind string // head, tail, typo
	text string
}

// genQueries makes a realistic mix: 40% head (Zipfian over headQueries), 55% long
// tail (1-3 words from brands, colours, materials, nouns, styles), 5% typos.
func genQueries(n int, seed uint64) []benchQuery {
	r := rand.New(rand.NewPCG(seed, 7))
	vocab := func() string {
		switch r.IntN(5) {
		case 0:
			return pick(r, genBrands)
		case 1:
			return pick(r, genColors)
		case 2:
			return pick(r, genMaterials)
		case 3:
			return pick(r, genStyles)
		}
		if r.IntN(2) == 0 {
			return pick(r, genShoes)
		}
		return pick(r, genApparel)
	}
	out := make([]benchQuery, n)
	for i := range out {
		switch u := r.Float64(); {
		case u < 0.40:
			out[i] = benchQuery{"head", headQueries[zipf(r, len(headQueries))]}
		case u < 0.95:
			words := make([]string, 1+r.IntN(3))
			for k := range words {
				words[k] = vocab()
			}
			out[i] = benchQuery{"tail", strings.ToLower(strings.Join(words, " "))}
		default:
			q := strings.ToLower(vocab() + " " + pick(r, append(append([]string{}, genShoes...), genApparel...)))
			out[i] = benchQuery{"typo", typo(r, q)}
		}
	}
	return out
}

// typo swaps two adjacent letters, drops or doubles one, in a word of 5+ letters.
func typo(r *rand.Rand, q string) string {
	words := strings.Fields(q)
	var long []int
	for i, w := range words {
		if len(w) >= 5 {
			long = append(long, i)
		}
	}
	if len(long) == 0 {
		return q
	}
	i := pick(r, long)
	w := []byte(words[i])
	p := 1 + r.IntN(len(w)-2)
	switch r.IntN(3) {
	case 0:
		w[p], w[p+1] = w[p+1], w[p]
	case 1:
		w = append(w[:p], w[p+1:]...)
	default:
		w = append(w[:p+1], w[p:]...)
	}
	words[i] = string(w)
	return strings.Join(words, " ")
}
