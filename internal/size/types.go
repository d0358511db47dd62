package size

import (
	"fmt"
	"strings"
	"time"
)

// Outcome is what became of a purchase, as far as size goes.
type Outcome uint8

// Outcomes. OutcomeIgnored marks returns for reasons other than size
// (not_as_pictured, quality, other): they say nothing about size and are skipped.
const (
	OutcomeIgnored  Outcome = 0
	OutcomeKept     Outcome = 1
	OutcomeTooSmall Outcome = 2
	OutcomeTooLarge Outcome = 3
)

func (o Outcome) String() string {
	switch o {
	case OutcomeKept:
		return "kept"
	case OutcomeTooSmall:
		return "too_small"
	case OutcomeTooLarge:
		return "too_large"
	}
	return "ignored"
}

// ParseOutcome maps a Product Returned reason (CONTRACT §2) to an Outcome; "" and
// "kept" mean the purchase was kept.
func ParseOutcome(reason string) Outcome {
	switch strings.ToLower(strings.TrimSpace(reason)) {
	case "", "kept", "fit", "keep":
		return OutcomeKept
	case "too_small", "small":
		return OutcomeTooSmall
	case "too_large", "large":
		return OutcomeTooLarge
	}
	return OutcomeIgnored
}

// Observation is one purchase and what became of it. System is the catalog
// size_system of the product ("us_shoe", "alpha", "numeric"); Gender is the product's
// gender ("men", "women", "unisex", …) and helps tell two wearers of one account apart.
type Observation struct {
	CustomerID string
	ProductID  string
	Brand      string
	Category   string
	Gender     string
	System     string
	Size       string
	Outcome    Outcome
	Time       time.Time
	// AlreadyKept marks a size return of a purchase already folded into the profile as
	// kept (its order came first, online or in the training run): Model.Update swaps
	// the kept outcome for the return instead of counting a second purchase. Training
	// (Trainer) sees each purchase once, with its final outcome, and ignores it.
	AlreadyKept bool
	// Unsettled is, for a purchase not returned (OutcomeKept) whose return window is
	// still open, the share of its size returns that would still be to come: 0 for a
	// settled purchase, near 1 for one bought just now (see the train package's use of
	// the store's return delays). Training weighs such a purchase as "not returned
	// yet" rather than kept in the likelihood and leaves it out of the kept evidence
	// of fit flags; its label still counts as the buyer's usual size, the product's
	// most-kept size and the population's, as it does online. Model.Update, which
	// folds purchases in as they happen and swaps in a later return (AlreadyKept),
	// ignores it.
	Unsettled float64
	// Scale is the scale of the product's labels (ProductScale); ScaleAuto decides
	// from Gender (women's shoes) and the label (numeric labels below 24 are dress
	// sizes), which cannot tell a dress size 24 from a 24-inch waist.
	Scale Scale
}

// UsualSize is a size the customer says they usually take in a brand and category.
type UsualSize struct {
	Brand    string
	Category string
	Size     string
}

// Survey is a Fit Survey Completed event (CONTRACT §2). Zero means "not answered"
// for the numbers.
type Survey struct {
	CustomerID    string
	HeightCM      float64
	WeightKG      float64
	Age           float64
	ShoeSizeUS    float64
	ShoeWidth     string // narrow, medium, wide (or N/M/W)
	FitPreference string // snug, regular, loose
	Gender        string
	UsualSizes    []UsualSize
	Time          time.Time
}

// Gender codes used inside the model.
const (
	genderUnknown uint8 = 0
	genderFemale  uint8 = 1
	genderMale    uint8 = 2
	// genderKids marks children's products and the wearer who takes them: a child's
	// sizes are neither an adult's nor on an adult's shoe scale, and an account's adult
	// sizes are never carried to a child's product, or back.
	genderKids uint8 = 3
)

func parseGender(s string) uint8 {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "f", "female", "woman", "women", "womens", "women's", "w":
		return genderFemale
	case "m", "male", "man", "men", "mens", "men's":
		return genderMale
	case "kids", "kid", "kids'", "children", "child", "childrens", "children's", "boy", "boys", "boys'", "girl", "girls", "girls'",
		"youth", "junior", "juniors", "toddler", "toddlers", "baby", "infant", "infants":
		return genderKids
	}
	return genderUnknown
}

// parseGenderFast is parseGender without allocating, for the serving path (exact
// common spellings only).
func parseGenderFast(s string) uint8 {
	switch s {
	case "women", "female", "womens", "women's", "Women", "Female", "W", "F", "f", "w", "woman", "Woman":
		return genderFemale
	case "men", "male", "mens", "men's", "Men", "Male", "M", "m", "man", "Man":
		return genderMale
	case "", "unisex", "Unisex":
		return genderUnknown
	case "kids", "Kids":
		return genderKids
	}
	if len(s) < 12 {
		return parseGender(s)
	}
	return genderUnknown
}

func genderName(g uint8) string {
	switch g {
	case genderFemale:
		return "female"
	case genderMale:
		return "male"
	case genderKids:
		return "kids"
	}
	return ""
}

func fitPreferenceShift(pref string) float64 {
	switch strings.ToLower(strings.TrimSpace(pref)) {
	case "snug", "tight", "fitted":
		return -0.25
	case "loose", "relaxed", "oversized":
		return 0.25
	}
	return 0
}

// Options tune training. The zero value gives the defaults.
type Options struct {
	// Sweeps is the number of alternating-update sweeps per fitting pass (default 12).
	Sweeps int
	// BrandSD, ProductSD and CustomerSD are the prior standard deviations, in steps of
	// the size system, of a brand's offset around 0, of a product's offset around its
	// brand's and of a customer's true size around the population (defaults 1, 0.5, 2).
	// BrandSD and ProductSD left at 0 are learned from the data (empirical Bayes: the
	// defaults are where the fit starts); set, they are held.
	BrandSD, ProductSD, CustomerSD float64
	// ChoiceSD is the standard deviation, in steps of the size system, of the label a
	// shopper picks around their true size (default 0.5): a purchase says which size
	// its buyer believes is theirs, whatever became of it, and most shoppers know their
	// size to within a step. Without it a kept purchase only says the true size lies
	// somewhere in the "fits" band, and one purchase leaves the estimate pulled halfway
	// to the population's size. The SingleLatent baseline ignores it.
	ChoiceSD float64
	// SingleLatent trains the baseline with one true size per customer and size system
	// and no brand or product offsets and no second wearer.
	SingleLatent bool
	// NoWearers turns off two-wearer detection.
	NoWearers bool
	// LearnedOffsets keeps every brand's and product's offset as learned. By default an
	// item with a verdict is set to at least one step its way (verdictOffset, as
	// recommendations size it) and the customers' true sizes are refitted against it;
	// set, the model holds the raw estimates, e.g. to study how evidence moves them.
	LearnedOffsets bool
	// BodyTable are extra rows (height, weight, age → alpha size), e.g. a public fit
	// table, for the survey → alpha size part. Customers with a survey and kept alpha
	// purchases are always used as well.
	BodyTable []BodySample
	// MinWearerKept is the least number of kept purchases in each of two wearers'
	// clusters before an account is split (default 2).
	MinWearerKept int
}

func (o Options) withDefaults() Options {
	if o.Sweeps <= 0 {
		o.Sweeps = 12
	}
	if o.BrandSD <= 0 {
		o.BrandSD = 1
	}
	if o.ProductSD <= 0 {
		o.ProductSD = 0.5
	}
	if o.CustomerSD <= 0 {
		o.CustomerSD = 2
	}
	if o.MinWearerKept <= 0 {
		o.MinWearerKept = 2
	}
	if o.ChoiceSD <= 0 {
		o.ChoiceSD = 0.5
	}
	return o
}

// maxChoiceSD bounds Options.ChoiceSD (in steps), as the model's decoder does.
const maxChoiceSD = 100

func (o Options) validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"BrandSD", o.BrandSD}, {"ProductSD", o.ProductSD}, {"CustomerSD", o.CustomerSD}, {"ChoiceSD", o.ChoiceSD}} {
		if f.v != f.v || f.v > 1e6 {
			return fmt.Errorf("size options: %s is %v; want a positive number", f.name, f.v)
		}
	}
	if o.ChoiceSD >= maxChoiceSD {
		return fmt.Errorf("size options: ChoiceSD is %v; want less than %v steps", o.ChoiceSD, float64(maxChoiceSD))
	}
	if o.Sweeps > 1000 {
		return fmt.Errorf("size options: Sweeps is %d; want at most 1000", o.Sweeps)
	}
	return nil
}
