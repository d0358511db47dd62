package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Config is every parameter of a simulated world. JSON overrides (LoadConfig) use the
// tags below; nested groups are overridden field by field.
type Config struct {
	Seed      int64     `json:"seed"`
	Products  int       `json:"products"`
	Customers int       `json:"customers"`
	Days      int       `json:"days"`
	Start     time.Time `json:"start"` // simulated time of day 0, 00:00

	Catalog   CatalogConfig   `json:"catalog"`
	Customer  CustomerConfig  `json:"customer"`
	Survey    SurveyConfig    `json:"survey"`
	Query     QueryConfig     `json:"query"`
	Click     ClickConfig     `json:"click"`
	Purchase  PurchaseConfig  `json:"purchase"`
	Returns   ReturnConfig    `json:"returns"`
	Ranker    RankerConfig    `json:"ranker"`
	Truth     TruthConfig     `json:"truth"`
	Workers   int             `json:"workers"` // goroutines generating (0: GOMAXPROCS); never changes the output
	Sessions  SessionConfig   `json:"sessions"`
	Sizing    SizingConfig    `json:"sizing"`
	Utility   UtilityConfig   `json:"utility"`
	Identity  IdentityConfig  `json:"identity"`
	Diurnal   []float64       `json:"diurnal"` // relative session arrival weight per hour of day (24 values)
	Oracle    OracleConfig    `json:"oracle"`
	Anonymous AnonymousConfig `json:"anonymous"`
}

// CatalogConfig shapes the products.
type CatalogConfig struct {
	Brands                int     `json:"brands"`                  // number of brands (at most 60 names, then numbered)
	ShoeShare             float64 `json:"shoe_share"`              // share of products that are shoes
	KidsShare             float64 `json:"kids_share"`              // share of products for kids
	OutOfStockRate        float64 `json:"out_of_stock_rate"`       // chance a (middle) size is out of stock; doubled at the extremes
	BrandOffsetShare      float64 `json:"brand_offset_share"`      // share of brands that run half a size small or large
	ProductDeviationShare float64 `json:"product_deviation_share"` // share of products that deviate from their brand's sizing by half a size
	FitNoteShare          float64 `json:"fit_note_share"`          // chance a product whose fit deviates says so in its description
	PriceNoise            float64 `json:"price_noise"`             // sd of log price around the brand's level
}

// CustomerConfig shapes the latent customers.
type CustomerConfig struct {
	PersonalStrengthA  float64 `json:"personal_strength_a"`  // Beta(a,b) of the personal strength (0 generic .. 1 strongly personal)
	PersonalStrengthB  float64 `json:"personal_strength_b"`  //
	SharedAccountShare float64 `json:"shared_account_share"` // accounts shared by a second wearer
	SecondWearerShare  float64 `json:"second_wearer_share"`  // share of a shared account's sessions shopping for the second wearer
	SecondIsKidShare   float64 `json:"second_is_kid_share"`  // share of second wearers who are kids
	FavoriteBrands     int     `json:"favorite_brands"`      // brands with positive weight per customer (at most)
	FavoriteColors     int     `json:"favorite_colors"`      //
	FavoriteCategories int     `json:"favorite_categories"`  //
	WomenShare         float64 `json:"women_share"`          // of primary wearers; the rest men, bar UnspecifiedShare
	UnspecifiedShare   float64 `json:"unspecified_share"`    // gender not given (shops both)
	NarrowShare        float64 `json:"narrow_share"`         // shoe widths
	WideShare          float64 `json:"wide_share"`           //
}

// SurveyConfig says who answers the fit survey and how well.
type SurveyConfig struct {
	Share         float64 `json:"share"` // customers who complete the survey (once, in their first session)
	HeightCM      float64 `json:"height_cm"`
	WeightKG      float64 `json:"weight_kg"`
	Age           float64 `json:"age"`
	ShoeSizeUS    float64 `json:"shoe_size_us"`
	ShoeWidth     float64 `json:"shoe_width"`
	FitPreference float64 `json:"fit_preference"`
	UsualSizes    float64 `json:"usual_sizes"`
	Gender        float64 `json:"gender"`
	HeightSD      float64 `json:"height_sd"`   // noise of the reported height (cm)
	WeightBias    float64 `json:"weight_bias"` // mean error of the reported weight (kg; negative = under-reported)
	WeightSD      float64 `json:"weight_sd"`
}

// QueryConfig shapes the queries customers type.
type QueryConfig struct {
	HeadShare    float64 `json:"head_share"`      // queries that are just the category word (or colour + category)
	TypoRate     float64 `json:"typo_rate"`       // chance per query of a typo in one word
	ColorRate    float64 `json:"color_rate"`      // chance the intent's colour is typed
	BrandRate    float64 `json:"brand_rate"`      // chance an intended brand is typed
	GenderRate   float64 `json:"gender_rate"`     // chance the gender is typed
	MaterialRate float64 `json:"material_rate"`   //
	StyleRate    float64 `json:"style_rate"`      //
	SynonymRate  float64 `json:"synonym_rate"`    // chance a category synonym replaces the usual word
	IntentColor  float64 `json:"intent_color"`    // chance an intent has a colour in mind (typed or not)
	IntentBrand  float64 `json:"intent_brand"`    // chance an intent has a brand in mind (scaled by personal strength)
	IntentStyle  float64 `json:"intent_style"`    //
	Reformulate  float64 `json:"reformulate"`     // chance of searching again when the list did not satisfy
	MaxRepeats   int     `json:"max_repeats"`     // reformulations per session at most
	ListSize     int     `json:"list_size"`       // results shown per search (impressions)
	RepeatWithin float64 `json:"repeat_within_s"` // a reformulation comes 5..RepeatWithin seconds later
}

// ClickConfig is the examination and click model.
type ClickConfig struct {
	Model            string  `json:"model"`             // "pbm" (examination 1/pos^position_bias) or "cascade"
	PositionBias     float64 `json:"position_bias"`     // PBM exponent
	ContinueProb     float64 `json:"continue_prob"`     // cascade: chance to look at the next item after skipping one
	AttractionScale  float64 `json:"attraction_scale"`  // slope of P(click | examined) in utility
	AttractionBias   float64 `json:"attraction_bias"`   // utility at which P(click | examined) = 0.5
	MaxClicks        int     `json:"max_clicks"`        // clicks per list at most
	SatisfiedUtility float64 `json:"satisfied_utility"` // a click on an item at least this good satisfies the search
}

// PurchaseConfig is carts, orders and the choice of size.
type PurchaseConfig struct {
	AddScale          float64 `json:"add_scale"`         // P(add | viewed) = sigmoid(scale*(u-bias))
	AddBias           float64 `json:"add_bias"`          //
	CheckoutProb      float64 `json:"checkout_prob"`     // chance a non-empty cart is ordered
	SubstituteProb    float64 `json:"substitute_prob"`   // chance to take the next size when the chosen one is out of stock
	BrandAwareShare   float64 `json:"brand_aware_share"` // customers who adjust for a brand's known sizing
	TrustShare        float64 `json:"trust_share"`       // customers who act on the store's size advice when shown: advice for them, or anchored on their own size ("half a size up")
	UsualSizeError    float64 `json:"usual_size_error"`  // chance a wearer's believed usual size is one step off
	SecondQuantityPct float64 `json:"second_quantity"`   // chance an order line has quantity 2
}

// ReturnConfig is why and when orders come back.
type ReturnConfig struct {
	BaseRate     float64   `json:"base_rate"`      // non-size returns (not_as_pictured, quality, other), scaled by product quality
	SizeProb     []float64 `json:"size_prob"`      // P(size return) by |size error| 0, 0.5, 1, 1.5, 2+ sizes
	WidthProb    float64   `json:"width_prob"`     // P(size return) when the shoe width does not match the foot
	MinDelayDays int       `json:"min_delay_days"` //
	MaxDelayDays int       `json:"max_delay_days"` //
	CommentRate  float64   `json:"comment_rate"`   // returns with a free-text comment
}

// RankerConfig is the built-in non-personalized ranker of offline mode.
type RankerConfig struct {
	TextWeight       float64 `json:"text_weight"`
	PopularityWeight float64 `json:"popularity_weight"`
	PopularityDecay  float64 `json:"popularity_decay"` // nightly decay of learned click/purchase counts
}

// TruthConfig says what truth.jsonl holds besides customers, brands and products.
type TruthConfig struct {
	Purchases bool `json:"purchases"` // one record per order line with its size error and return
	Searches  bool `json:"searches"`  // one record per search with the hidden intent
}

// SessionConfig is how often customers come.
type SessionConfig struct {
	PerDay        float64 `json:"per_day"`        // mean sessions per customer per day
	ActivityShape float64 `json:"activity_shape"` // gamma shape of per-customer activity (small = heavy tail)
}

// SizingConfig is how sizes are generated.
type SizingConfig struct {
	BodyNoise float64 `json:"body_noise"` // sd (in sizes) of true sizes around what height and weight predict
}

// UtilityConfig weighs the parts of a customer's latent utility for a product.
type UtilityConfig struct {
	Quality     float64 `json:"quality"`      // generic: product quality
	BrandPop    float64 `json:"brand_pop"`    // generic: brand popularity
	Brand       float64 `json:"brand"`        // personal (× personal strength)
	Style       float64 `json:"style"`        //
	Color       float64 `json:"color"`        //
	Price       float64 `json:"price"`        // personal price-band fit
	IntentColor float64 `json:"intent_color"` // relevance: matches the colour in mind
	IntentStyle float64 `json:"intent_style"` //
	IntentBrand float64 `json:"intent_brand"` //
	Noise       float64 `json:"noise"`        // sd of per-impression taste noise
}

// IdentityConfig is logins and opt-outs.
type IdentityConfig struct {
	LoggedIn     float64 `json:"logged_in"`     // sessions that start logged in
	IdentifyRate float64 `json:"identify_rate"` // anonymous sessions that log in mid-session (identify)
	OptOutShare  float64 `json:"opt_out_share"` // customers who opt out of personalization at some point
	MaxDevices   int     `json:"max_devices"`   // anonymous ids per customer at most
}

// OracleConfig bounds the oracle ranking.
type OracleConfig struct {
	Candidates int `json:"candidates"` // text-matched candidates the oracle reorders
}

// AnonymousConfig is traffic from visitors who never log in.
type AnonymousConfig struct {
	Share float64 `json:"share"` // of customers, never log in nor order (browse only)
}

// DefaultConfig is the default demo world: 20k products, 50k customers, 30 days.
func DefaultConfig() Config {
	return Config{
		Seed: 7, Products: 20000, Customers: 50000, Days: 30,
		Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
		Catalog: CatalogConfig{Brands: 60, ShoeShare: 0.45, KidsShare: 0.1, OutOfStockRate: 0.08,
			BrandOffsetShare: 0.3, ProductDeviationShare: 0.15, FitNoteShare: 0.3, PriceNoise: 0.25},
		Customer: CustomerConfig{PersonalStrengthA: 1.2, PersonalStrengthB: 1.2, SharedAccountShare: 0.07,
			SecondWearerShare: 0.4, SecondIsKidShare: 0.5, FavoriteBrands: 4, FavoriteColors: 3, FavoriteCategories: 5,
			WomenShare: 0.56, UnspecifiedShare: 0.04, NarrowShare: 0.12, WideShare: 0.15},
		Survey: SurveyConfig{Share: 0.35, HeightCM: 0.85, WeightKG: 0.6, Age: 0.7, ShoeSizeUS: 0.75, ShoeWidth: 0.5,
			FitPreference: 0.6, UsualSizes: 0.5, Gender: 0.8, HeightSD: 2.5, WeightBias: -1.5, WeightSD: 3},
		Query: QueryConfig{HeadShare: 0.25, TypoRate: 0.05, ColorRate: 0.45, BrandRate: 0.3, GenderRate: 0.3,
			MaterialRate: 0.12, StyleRate: 0.15, SynonymRate: 0.3, IntentColor: 0.6, IntentBrand: 0.35, IntentStyle: 0.4,
			Reformulate: 0.55, MaxRepeats: 2, ListSize: 20, RepeatWithin: 180},
		Click: ClickConfig{Model: "pbm", PositionBias: 1.0, ContinueProb: 0.85, AttractionScale: 1.6,
			AttractionBias: 1.8, MaxClicks: 4, SatisfiedUtility: 1.5},
		Purchase: PurchaseConfig{AddScale: 1.5, AddBias: 3.0, CheckoutProb: 0.65, SubstituteProb: 0.4,
			BrandAwareShare: 0.3, TrustShare: 0.7, UsualSizeError: 0.15, SecondQuantityPct: 0.03},
		Returns: ReturnConfig{BaseRate: 0.06, SizeProb: []float64{0.03, 0.3, 0.6, 0.8, 0.92}, WidthProb: 0.3,
			MinDelayDays: 3, MaxDelayDays: 14, CommentRate: 0.2},
		Ranker:   RankerConfig{TextWeight: 1, PopularityWeight: 0.35, PopularityDecay: 0.9},
		Truth:    TruthConfig{Purchases: true, Searches: true},
		Sessions: SessionConfig{PerDay: 0.26, ActivityShape: 1.5},
		Sizing:   SizingConfig{BodyNoise: 0.4},
		Utility: UtilityConfig{Quality: 0.5, BrandPop: 0.4, Brand: 2.0, Style: 1.0, Color: 1.3, Price: 1.0,
			IntentColor: 1.2, IntentStyle: 0.6, IntentBrand: 1.5, Noise: 0.3},
		Identity:  IdentityConfig{LoggedIn: 0.55, IdentifyRate: 0.3, OptOutShare: 0.02, MaxDevices: 3},
		Diurnal:   []float64{1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.6, 2.8, 3, 3.4, 3.2, 3, 2.9, 3, 3.3, 3.8, 4.4, 4.8, 4.4, 3.2, 1.8},
		Oracle:    OracleConfig{Candidates: 500},
		Anonymous: AnonymousConfig{Share: 0.1},
	}
}

// LoadConfig reads JSON overrides on top of base. Unknown keys are an error naming
// the key; the result is validated.
func LoadConfig(base Config, r io.Reader) (Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return base, fmt.Errorf("cannot read simulator config: %w", err)
	}
	if len(data) > 1<<20 {
		return base, errors.New("simulator config is larger than 1 MiB")
	}
	cfg := base
	cfg.Returns.SizeProb = append([]float64(nil), base.Returns.SizeProb...)
	cfg.Diurnal = append([]float64(nil), base.Diurnal...)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "unknown field") {
			return base, fmt.Errorf("simulator config: %s (see sim.Config for the known keys)", strings.TrimPrefix(msg, "json: "))
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return base, fmt.Errorf("simulator config is not valid JSON at byte %d: %v", se.Offset, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return base, fmt.Errorf("simulator config: %q has the wrong type: got JSON %s, want %s", te.Field, te.Value, te.Type)
		}
		return base, fmt.Errorf("simulator config is not valid: %v", err)
	}
	if dec.More() {
		return base, errors.New("simulator config has data after its JSON object")
	}
	if err := cfg.Validate(); err != nil {
		return base, err
	}
	return cfg, nil
}

// Validate checks every parameter and says which one is wrong.
func (c *Config) Validate() error {
	var errs []string
	prob := func(name string, v float64) {
		if !(v >= 0 && v <= 1) {
			errs = append(errs, fmt.Sprintf("%s must be a probability between 0 and 1, got %v", name, v))
		}
	}
	rng := func(name string, v, lo, hi float64) {
		if !(v >= lo && v <= hi) {
			errs = append(errs, fmt.Sprintf("%s must be between %v and %v, got %v", name, lo, hi, v))
		}
	}
	irng := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Sprintf("%s must be between %d and %d, got %d", name, lo, hi, v))
		}
	}
	irng("products", c.Products, 1, 5_000_000)
	irng("customers", c.Customers, 1, 50_000_000)
	irng("days", c.Days, 1, 1000)
	if c.Start.IsZero() || c.Start.Year() < 1970 || c.Start.Year() > 2150 {
		errs = append(errs, fmt.Sprintf("start must be a time between 1970 and 2150, got %v", c.Start))
	}
	irng("workers", c.Workers, 0, 256)
	cc := c.Catalog
	irng("catalog.brands", cc.Brands, 1, 1000)
	prob("catalog.shoe_share", cc.ShoeShare)
	prob("catalog.kids_share", cc.KidsShare)
	rng("catalog.out_of_stock_rate", cc.OutOfStockRate, 0, 0.5)
	prob("catalog.brand_offset_share", cc.BrandOffsetShare)
	prob("catalog.product_deviation_share", cc.ProductDeviationShare)
	prob("catalog.fit_note_share", cc.FitNoteShare)
	rng("catalog.price_noise", cc.PriceNoise, 0, 2)
	cu := c.Customer
	rng("customer.personal_strength_a", cu.PersonalStrengthA, 0.05, 100)
	rng("customer.personal_strength_b", cu.PersonalStrengthB, 0.05, 100)
	prob("customer.shared_account_share", cu.SharedAccountShare)
	prob("customer.second_wearer_share", cu.SecondWearerShare)
	prob("customer.second_is_kid_share", cu.SecondIsKidShare)
	irng("customer.favorite_brands", cu.FavoriteBrands, 0, 20)
	irng("customer.favorite_colors", cu.FavoriteColors, 0, 10)
	irng("customer.favorite_categories", cu.FavoriteCategories, 1, 20)
	prob("customer.women_share", cu.WomenShare)
	prob("customer.unspecified_share", cu.UnspecifiedShare)
	if cu.WomenShare+cu.UnspecifiedShare > 1 {
		errs = append(errs, "customer.women_share + customer.unspecified_share must not exceed 1")
	}
	prob("customer.narrow_share", cu.NarrowShare)
	prob("customer.wide_share", cu.WideShare)
	if cu.NarrowShare+cu.WideShare > 1 {
		errs = append(errs, "customer.narrow_share + customer.wide_share must not exceed 1")
	}
	s := c.Survey
	for _, f := range []struct {
		n string
		v float64
	}{{"share", s.Share}, {"height_cm", s.HeightCM}, {"weight_kg", s.WeightKG}, {"age", s.Age}, {"shoe_size_us", s.ShoeSizeUS},
		{"shoe_width", s.ShoeWidth}, {"fit_preference", s.FitPreference}, {"usual_sizes", s.UsualSizes}, {"gender", s.Gender}} {
		prob("survey."+f.n, f.v)
	}
	rng("survey.height_sd", s.HeightSD, 0, 30)
	rng("survey.weight_bias", s.WeightBias, -30, 30)
	rng("survey.weight_sd", s.WeightSD, 0, 30)
	q := c.Query
	for _, f := range []struct {
		n string
		v float64
	}{{"head_share", q.HeadShare}, {"typo_rate", q.TypoRate}, {"color_rate", q.ColorRate}, {"brand_rate", q.BrandRate},
		{"gender_rate", q.GenderRate}, {"material_rate", q.MaterialRate}, {"style_rate", q.StyleRate}, {"synonym_rate", q.SynonymRate},
		{"intent_color", q.IntentColor}, {"intent_brand", q.IntentBrand}, {"intent_style", q.IntentStyle}, {"reformulate", q.Reformulate}} {
		prob("query."+f.n, f.v)
	}
	irng("query.max_repeats", q.MaxRepeats, 0, 10)
	irng("query.list_size", q.ListSize, 1, 100)
	rng("query.repeat_within_s", q.RepeatWithin, 5, 3600)
	k := c.Click
	if k.Model != "pbm" && k.Model != "cascade" {
		errs = append(errs, fmt.Sprintf(`click.model must be "pbm" or "cascade", got %q`, k.Model))
	}
	rng("click.position_bias", k.PositionBias, 0, 5)
	prob("click.continue_prob", k.ContinueProb)
	rng("click.attraction_scale", k.AttractionScale, 0, 20)
	rng("click.attraction_bias", k.AttractionBias, -20, 20)
	irng("click.max_clicks", k.MaxClicks, 0, 100)
	rng("click.satisfied_utility", k.SatisfiedUtility, -20, 20)
	p := c.Purchase
	rng("purchase.add_scale", p.AddScale, 0, 20)
	rng("purchase.add_bias", p.AddBias, -20, 20)
	prob("purchase.checkout_prob", p.CheckoutProb)
	prob("purchase.substitute_prob", p.SubstituteProb)
	prob("purchase.brand_aware_share", p.BrandAwareShare)
	prob("purchase.trust_share", p.TrustShare)
	prob("purchase.usual_size_error", p.UsualSizeError)
	prob("purchase.second_quantity", p.SecondQuantityPct)
	r := c.Returns
	prob("returns.base_rate", r.BaseRate)
	if len(r.SizeProb) != 5 {
		errs = append(errs, fmt.Sprintf("returns.size_prob must have 5 values (|size error| 0, 0.5, 1, 1.5, 2+), got %d", len(r.SizeProb)))
	}
	for i, v := range r.SizeProb {
		prob(fmt.Sprintf("returns.size_prob[%d]", i), v)
	}
	prob("returns.width_prob", r.WidthProb)
	irng("returns.min_delay_days", r.MinDelayDays, 0, 90)
	irng("returns.max_delay_days", r.MaxDelayDays, r.MinDelayDays, 90)
	prob("returns.comment_rate", r.CommentRate)
	rng("ranker.text_weight", c.Ranker.TextWeight, 0, 100)
	rng("ranker.popularity_weight", c.Ranker.PopularityWeight, 0, 100)
	prob("ranker.popularity_decay", c.Ranker.PopularityDecay)
	rng("sessions.per_day", c.Sessions.PerDay, 0, 50)
	rng("sessions.activity_shape", c.Sessions.ActivityShape, 0.05, 1000)
	rng("sizing.body_noise", c.Sizing.BodyNoise, 0, 5)
	u := c.Utility
	for _, f := range []struct {
		n string
		v float64
	}{{"quality", u.Quality}, {"brand_pop", u.BrandPop}, {"brand", u.Brand}, {"style", u.Style}, {"color", u.Color}, {"price", u.Price},
		{"intent_color", u.IntentColor}, {"intent_style", u.IntentStyle}, {"intent_brand", u.IntentBrand}, {"noise", u.Noise}} {
		rng("utility."+f.n, f.v, 0, 20)
	}
	prob("identity.logged_in", c.Identity.LoggedIn)
	prob("identity.identify_rate", c.Identity.IdentifyRate)
	prob("identity.opt_out_share", c.Identity.OptOutShare)
	irng("identity.max_devices", c.Identity.MaxDevices, 1, 10)
	if len(c.Diurnal) != 24 {
		errs = append(errs, fmt.Sprintf("diurnal must have 24 values (one per hour), got %d", len(c.Diurnal)))
	} else {
		sum := 0.0
		for i, v := range c.Diurnal {
			if !(v >= 0 && v < 1e6) {
				errs = append(errs, fmt.Sprintf("diurnal[%d] must be a non-negative weight, got %v", i, v))
			}
			sum += v
		}
		if !(sum > 0) {
			errs = append(errs, "diurnal must have at least one positive weight")
		}
	}
	irng("oracle.candidates", c.Oracle.Candidates, 1, 100000)
	prob("anonymous.share", c.Anonymous.Share)
	if len(errs) > 0 {
		return fmt.Errorf("invalid simulator config: %s", strings.Join(errs, "; "))
	}
	return nil
}
