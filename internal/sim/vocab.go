package sim

import "github.com/bespokesearch/bespoke/internal/catalog"

// Genders of products and wearers.
const (
	gWomen uint8 = iota
	gMen
	gKids
	gUnisex
)

var genderNames = []string{"women", "men", "kids", "unisex"}

// queryGenderWords are how customers type a gender.
var queryGenderWords = [][]string{
	{"women's", "womens", "women", "ladies"},
	{"men's", "mens", "men"},
	{"kids", "kids'", "boys", "girls", "children's"},
}

type category struct {
	name    string   // catalog category
	shoe    bool     // family
	system  string   // size system for adults
	genders []uint8  // who it is made for
	price   float64  // typical price at a mid-level brand
	words   []string // what customers type: the usual word first, then synonyms
	noun    string   // singular noun in product names
	pop     float64  // how often it is shopped
	mats    []int    // materials (indexes into materials)
	styles  []int    // styles it comes in
}

var styles = []string{"casual", "classic", "sporty", "minimalist", "streetwear", "outdoor", "formal", "vintage", "bohemian", "athleisure"}

var colors = []string{"black", "white", "grey", "navy", "blue", "red", "green", "olive", "beige", "brown", "tan", "pink", "burgundy", "yellow", "purple", "cream", "orange"}

// colorPop is how common each colour is in the catalog.
var colorPop = []float64{10, 7, 5, 4, 4, 2.5, 2, 1.5, 3, 4, 2, 2, 1.5, 1, 1, 2, 1}

var materials = []string{"leather", "suede", "canvas", "mesh", "knit", "synthetic", "rubber", // 0-6 shoes
	"cotton", "denim", "linen", "wool", "cashmere", "polyester", "silk", "fleece", "jersey", "nylon"} // 7-16 apparel

var categories = []category{
	{name: "sneakers", shoe: true, genders: []uint8{gWomen, gMen, gKids, gUnisex}, price: 85, words: []string{"sneakers", "trainers", "tennis shoes", "kicks"}, noun: "Sneaker", pop: 10, mats: []int{0, 2, 3, 4, 5}, styles: []int{0, 2, 3, 4, 9}},
	{name: "running shoes", shoe: true, genders: []uint8{gWomen, gMen, gKids}, price: 110, words: []string{"running shoes", "runners", "running sneakers"}, noun: "Running Shoe", pop: 7, mats: []int{3, 4, 5}, styles: []int{2, 9}},
	{name: "boots", shoe: true, genders: []uint8{gWomen, gMen, gKids}, price: 140, words: []string{"boots", "lace up boots"}, noun: "Boot", pop: 7, mats: []int{0, 1, 5}, styles: []int{0, 1, 5, 7, 4}},
	{name: "ankle boots", shoe: true, genders: []uint8{gWomen}, price: 130, words: []string{"ankle boots", "booties"}, noun: "Ankle Boot", pop: 5, mats: []int{0, 1, 5}, styles: []int{1, 3, 7, 8}},
	{name: "hiking boots", shoe: true, genders: []uint8{gWomen, gMen}, price: 150, words: []string{"hiking boots", "trail boots"}, noun: "Hiking Boot", pop: 3, mats: []int{0, 1, 3, 5}, styles: []int{5, 2}},
	{name: "sandals", shoe: true, genders: []uint8{gWomen, gMen, gKids}, price: 55, words: []string{"sandals", "slides"}, noun: "Sandal", pop: 5, mats: []int{0, 6, 5}, styles: []int{0, 8, 3}},
	{name: "heels", shoe: true, genders: []uint8{gWomen}, price: 95, words: []string{"heels", "pumps", "stilettos"}, noun: "Heel", pop: 5, mats: []int{0, 1, 5}, styles: []int{6, 1, 3, 7}},
	{name: "flats", shoe: true, genders: []uint8{gWomen}, price: 70, words: []string{"flats", "ballet flats"}, noun: "Flat", pop: 4, mats: []int{0, 1, 5}, styles: []int{1, 3, 0}},
	{name: "loafers", shoe: true, genders: []uint8{gWomen, gMen}, price: 100, words: []string{"loafers", "moccasins"}, noun: "Loafer", pop: 4, mats: []int{0, 1}, styles: []int{1, 6, 7}},
	{name: "slippers", shoe: true, genders: []uint8{gWomen, gMen, gKids}, price: 40, words: []string{"slippers", "house shoes"}, noun: "Slipper", pop: 3, mats: []int{1, 4, 5}, styles: []int{0}},
	{name: "dress shoes", shoe: true, genders: []uint8{gMen}, price: 130, words: []string{"dress shoes", "oxfords"}, noun: "Oxford", pop: 3, mats: []int{0, 1}, styles: []int{6, 1}},
	{name: "t-shirts", system: catalog.SizeAlpha, genders: []uint8{gWomen, gMen, gKids, gUnisex}, price: 25, words: []string{"t-shirt", "tee", "tshirt", "t shirts"}, noun: "Tee", pop: 9, mats: []int{7, 15, 12}, styles: []int{0, 3, 4, 7, 9}},
	{name: "tops", system: catalog.SizeAlpha, genders: []uint8{gWomen}, price: 35, words: []string{"tops", "tank top", "cami"}, noun: "Top", pop: 6, mats: []int{7, 13, 15, 12}, styles: []int{0, 3, 8, 9}},
	{name: "blouses", system: catalog.SizeAlpha, genders: []uint8{gWomen}, price: 45, words: []string{"blouse", "blouses"}, noun: "Blouse", pop: 4, mats: []int{13, 7, 9, 12}, styles: []int{1, 6, 8}},
	{name: "shirts", system: catalog.SizeAlpha, genders: []uint8{gWomen, gMen}, price: 50, words: []string{"shirt", "button down", "button up shirt"}, noun: "Shirt", pop: 6, mats: []int{7, 9, 8}, styles: []int{1, 6, 0}},
	{name: "dresses", system: catalog.SizeAlpha, genders: []uint8{gWomen, gKids}, price: 75, words: []string{"dress", "dresses", "sundress"}, noun: "Dress", pop: 8, mats: []int{7, 9, 13, 15, 12}, styles: []int{0, 1, 6, 8, 7}},
	{name: "skirts", system: catalog.SizeAlpha, genders: []uint8{gWomen}, price: 50, words: []string{"skirt", "skirts", "midi skirt"}, noun: "Skirt", pop: 4, mats: []int{8, 7, 10, 12}, styles: []int{1, 8, 7}},
	{name: "jeans", system: catalog.SizeNumeric, genders: []uint8{gWomen, gMen, gKids}, price: 80, words: []string{"jeans", "denim", "denim jeans"}, noun: "Jean", pop: 8, mats: []int{8}, styles: []int{0, 1, 4, 7}},
	{name: "pants", system: catalog.SizeNumeric, genders: []uint8{gWomen, gMen}, price: 65, words: []string{"pants", "trousers", "chinos", "slacks"}, noun: "Pant", pop: 6, mats: []int{7, 10, 9, 12}, styles: []int{1, 6, 0}},
	{name: "shorts", system: catalog.SizeNumeric, genders: []uint8{gWomen, gMen, gKids}, price: 40, words: []string{"shorts"}, noun: "Short", pop: 4, mats: []int{7, 8, 9, 16}, styles: []int{0, 2, 9}},
	{name: "leggings", system: catalog.SizeAlpha, genders: []uint8{gWomen, gKids}, price: 45, words: []string{"leggings", "yoga pants"}, noun: "Legging", pop: 4, mats: []int{15, 12, 16}, styles: []int{2, 9}},
	{name: "jackets", system: catalog.SizeAlpha, genders: []uint8{gWomen, gMen, gKids}, price: 120, words: []string{"jacket", "jackets", "bomber jacket", "windbreaker"}, noun: "Jacket", pop: 6, mats: []int{0, 8, 16, 12, 7}, styles: []int{0, 4, 5, 7, 2}},
	{name: "coats", system: catalog.SizeAlpha, genders: []uint8{gWomen, gMen}, price: 180, words: []string{"coat", "coats", "parka", "overcoat"}, noun: "Coat", pop: 4, mats: []int{10, 16, 12, 11}, styles: []int{1, 5, 3, 6}},
	{name: "sweaters", system: catalog.SizeAlpha, genders: []uint8{gWomen, gMen, gKids}, price: 70, words: []string{"sweater", "sweaters", "jumper", "pullover", "knit sweater"}, noun: "Sweater", pop: 6, mats: []int{10, 11, 7, 4}, styles: []int{0, 1, 3, 7}},
	{name: "hoodies", system: catalog.SizeAlpha, genders: []uint8{gWomen, gMen, gKids}, price: 55, words: []string{"hoodie", "hoodies", "sweatshirt"}, noun: "Hoodie", pop: 6, mats: []int{7, 14, 12}, styles: []int{0, 4, 2, 9}},
}

var brandNames = []string{
	"Northpeak", "Velora", "Strider & Co", "Ashford", "Lumen", "Kestrel", "Marlow", "Orsa", "Pinecrest", "Quill",
	"Rowan Lane", "Solstice", "Tidewater", "Umbra", "Vantage", "Wren", "Alder", "Bexley", "Cobalt Works", "Dune",
	"Ember", "Fenwick", "Granite", "Halden", "Iris & Oak", "Juniper", "Kinsley", "Larkspur", "Meridian", "Nomad",
	"Oakridge", "Parallel", "Quarry", "Redwood", "Saltmarsh", "Terrace", "Upland", "Vireo", "Westbrook", "Yarrow",
	"Zephyr", "Atlas Run", "Bramble", "Crescent", "Driftwood", "Eastline", "Foxglove", "Gable", "Harbor", "Indigo Row",
	"Jasper", "Kite", "Linden", "Moss & Stone", "Nettle", "Otto Berg", "Pacer", "Riverton", "Sable", "Thistle",
}

var modelNames = []string{
	"Aria", "Summit", "Metro", "Drift", "Nova", "Echo", "Harbor", "Vista", "Luna", "Atlas", "Breeze", "Canyon", "Delta", "Ember",
	"Flint", "Glide", "Haven", "Ivy", "Jet", "Kona", "Lark", "Mesa", "Nimbus", "Orbit", "Pulse", "Quest", "Ridge", "Sierra",
	"Tempo", "Union", "Vale", "Willow", "Zenith", "Astra", "Bolt", "Cove", "Dash", "Eden", "Fable", "Grove", "Halo", "Iona",
	"Juno", "Keel", "Loft", "Mira", "Noble", "Oasis", "Prism", "Quay", "Rally", "Sage", "Terra", "Uma", "Verve", "Wave",
	"Xena", "Yara", "Zola", "Arc", "Bay", "Cleo", "Dune", "Elm", "Fjord", "Gem", "Hale", "Isle", "Jade", "Kit", "Lotus",
	"Maple", "Nest", "Onyx", "Pike", "Reed", "Slate", "Tide", "Vela", "Wick", "Alto", "Brio", "Coda", "Dove", "Etta", "Fern",
}

var shoeFeatures = []string{"cushioned footbed", "rubber outsole", "padded collar", "breathable lining", "lace-up closure",
	"slip-on design", "water-resistant upper", "memory foam insole", "arch support", "lightweight sole", "pull tab at the heel",
	"removable insole", "grippy tread", "stitched welt", "flexible forefoot"}

var apparelFeatures = []string{"relaxed fit", "slim fit", "soft brushed interior", "machine washable", "ribbed cuffs",
	"side pockets", "stretch fabric", "button closure", "zip front", "breathable weave", "reinforced seams", "tagless neck",
	"adjustable waist", "lined body", "wrinkle-resistant finish"}

var occasions = []string{"everyday wear", "the weekend", "the office", "travel", "the gym", "evenings out", "the trail", "lounging at home", "the commute", "special occasions"}

var widthNames = []string{"narrow", "medium", "wide"}

// synonyms map what customers type (after normalization) to the index's tokens.
var synonyms = map[string]string{
	"trainer": "sneaker", "kick": "sneaker", "tennis": "sneaker", "runner": "running", "bootie": "ankle",
	"trail": "hiking", "slide": "sandal", "pump": "heel", "stiletto": "heel", "ballet": "flat", "moccasin": "loafer",
	"house": "slipper", "tee": "tshirt", "tank": "top", "cami": "top", "button": "shirt",
	"sundress": "dress", "midi": "skirt", "denim": "jean", "trouser": "pant", "chino": "pant", "slack": "pant",
	"yoga": "legging", "bomber": "jacket", "windbreaker": "jacket", "parka": "coat", "overcoat": "coat",
	"jumper": "sweater", "pullover": "sweater", "sweatshirt": "hoodie", "ladie": "women", "lady": "women",
	"woman": "women", "womens": "women", "man": "men", "mens": "men", "boy": "kid", "girl": "kid", "children": "kid",
	"child": "kid", "gray": "grey", "sneakers": "sneaker",
}
