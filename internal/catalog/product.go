package catalog

import (
	"fmt"
	"strings"
)

// Size systems of CONTRACT §3.
const (
	SizeUSShoe  = "us_shoe"
	SizeAlpha   = "alpha"
	SizeNumeric = "numeric"
	SizeNone    = "none"
)

// AlphaSizes are the alpha sizes in order, smallest first.
var AlphaSizes = []string{"XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL"}

// Size is one size a product comes in, and whether it can be bought now.
type Size struct {
	Size    string `json:"size"`
	InStock bool   `json:"in_stock"`
}

// Product is one item of the catalog (CONTRACT §3).
type Product struct {
	ProductID   string         `json:"product_id"`
	Name        string         `json:"name"`
	Brand       string         `json:"brand,omitempty"`
	Category    string         `json:"category,omitempty"`
	Gender      string         `json:"gender,omitempty"`
	Color       string         `json:"color,omitempty"`
	Material    string         `json:"material,omitempty"`
	Style       string         `json:"style,omitempty"`
	Price       float64        `json:"price,omitempty"`
	Description string         `json:"description,omitempty"`
	SizeSystem  string         `json:"size_system,omitempty"`
	Sizes       []Size         `json:"sizes,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
}

// Limits on what one product may hold.
const (
	MaxIDBytes    = 256
	MaxTextBytes  = 64 << 10
	MaxSizes      = 200
	MaxAttributes = 200
)

// FieldError names the product field at fault and why.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// Normalize fills what can be derived (a name from brand, category and id; the size
// system from the sizes) and checks the rest. It returns the first problem found.
func (p *Product) Normalize() error {
	p.ProductID = strings.TrimSpace(p.ProductID)
	switch {
	case p.ProductID == "":
		return FieldError{"product_id", "is required"}
	case len(p.ProductID) > MaxIDBytes:
		return FieldError{"product_id", fmt.Sprintf("is longer than %d bytes", MaxIDBytes)}
	case strings.ContainsAny(p.ProductID, "\x00\n\r"):
		return FieldError{"product_id", "must not contain control characters"}
	}
	if strings.TrimSpace(p.Name) == "" {
		p.Name = strings.TrimSpace(strings.Join(nonEmpty(p.Brand, p.Color, p.Category), " "))
		if p.Name == "" {
			p.Name = p.ProductID
		}
	}
	for _, f := range []struct{ name, v string }{{"name", p.Name}, {"description", p.Description}, {"brand", p.Brand}, {"category", p.Category}} {
		if len(f.v) > MaxTextBytes {
			return FieldError{f.name, fmt.Sprintf("is longer than %d bytes", MaxTextBytes)}
		}
	}
	if p.Price < 0 {
		return FieldError{"price", "must not be negative"}
	}
	if len(p.Sizes) > MaxSizes {
		return FieldError{"sizes", fmt.Sprintf("has %d entries, over the limit of %d", len(p.Sizes), MaxSizes)}
	}
	if len(p.Attributes) > MaxAttributes {
		return FieldError{"attributes", fmt.Sprintf("has %d entries, over the limit of %d", len(p.Attributes), MaxAttributes)}
	}
	for i := range p.Sizes {
		p.Sizes[i].Size = strings.TrimSpace(p.Sizes[i].Size)
		if p.Sizes[i].Size == "" {
			return FieldError{fmt.Sprintf("sizes[%d].size", i), "is required"}
		}
	}
	switch p.SizeSystem {
	case SizeUSShoe, SizeAlpha, SizeNumeric, SizeNone:
	case "":
		p.SizeSystem = GuessSizeSystem(p.Sizes)
	default:
		return FieldError{"size_system", fmt.Sprintf("is %q; must be us_shoe, alpha, numeric or none", p.SizeSystem)}
	}
	return nil
}

// InStock reports whether the product can be bought in size s.
func (p *Product) InStock(s string) bool {
	for _, z := range p.Sizes {
		if z.Size == s {
			return z.InStock
		}
	}
	return false
}

// GuessSizeSystem infers the size system of a product from its sizes.
func GuessSizeSystem(sizes []Size) string {
	if len(sizes) == 0 {
		return SizeNone
	}
	if AlphaIndex(sizes[0].Size) >= 0 {
		return SizeAlpha
	}
	var v float64
	if _, err := fmt.Sscanf(sizes[0].Size, "%g", &v); err == nil {
		if v >= 20 {
			return SizeNumeric
		}
		return SizeUSShoe
	}
	return SizeNone
}

// AlphaIndex is the position of an alpha size in AlphaSizes, or -1.
func AlphaIndex(s string) int {
	s = strings.ToUpper(strings.TrimSpace(s))
	switch s {
	case "2XL":
		s = "XXL"
	case "3XL":
		s = "XXXL"
	case "2XS":
		s = "XXS"
	}
	for i, a := range AlphaSizes {
		if a == s {
			return i
		}
	}
	return -1
}

func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
