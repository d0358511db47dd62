package event

import (
	"encoding/json"
	"fmt"
	"slices"
)

// validateProperties checks the properties of the events that drive Bespoke's models
// (CONTRACT §2). Unknown event names are accepted as they are.
func (e *Event) validateProperties(i int) []FieldError {
	if e.Type != TypeTrack || !Known(e.Event) {
		return nil
	}
	var errs []FieldError
	add := func(field, reason string) {
		errs = append(errs, FieldError{Index: i, Field: "properties." + field, Reason: reason})
	}
	p, err := e.Props()
	if err != nil {
		field := "properties"
		if te, ok := err.(*json.UnmarshalTypeError); ok && te.Field != "" {
			field += "." + te.Field
			return []FieldError{{Index: i, Field: field, Reason: describeJSONError(err)}}
		}
		return []FieldError{{Index: i, Field: field, Reason: describeJSONError(err)}}
	}
	requireString := func(field, v string) {
		switch {
		case v == "":
			add(field, "is required for "+e.Event)
		case len(v) > MaxIDBytes && field != "query":
			add(field, fmt.Sprintf("is longer than %d bytes", MaxIDBytes))
		}
	}
	requirePosition := func(field string, v int) {
		if v < 1 {
			add(field, "is required: the 1-based position in the list")
		}
	}
	switch e.Event {
	case ProductsSearched:
		requireString("query", p.Query)
		requireString("search_id", p.SearchID)
	case ProductListViewed:
		requireString("search_id", p.SearchID)
		if len(p.Products) == 0 {
			add("products", "is required: the impressions, [{product_id, position}]")
		}
		if len(p.Products) > maxProductsPerList {
			add("products", fmt.Sprintf("has %d entries, over the limit of %d", len(p.Products), maxProductsPerList))
		}
		for j, pr := range p.Products {
			if pr.ProductID == "" {
				add(fmt.Sprintf("products[%d].product_id", j), "is required")
			}
			if pr.Position < 1 {
				add(fmt.Sprintf("products[%d].position", j), "is required: the 1-based position in the list")
			}
		}
	case ProductClicked:
		requireString("product_id", string(p.ProductID))
		requirePosition("position", p.Position)
	case ProductViewed, ProductAdded:
		requireString("product_id", string(p.ProductID))
	case OrderCompleted:
		requireString("order_id", string(p.OrderID))
		if len(p.Products) == 0 {
			add("products", "is required: the order lines, [{product_id, size, price, quantity}]")
		}
		if len(p.Products) > maxProductsPerList {
			add("products", fmt.Sprintf("has %d entries, over the limit of %d", len(p.Products), maxProductsPerList))
		}
		for j, pr := range p.Products {
			if pr.ProductID == "" {
				add(fmt.Sprintf("products[%d].product_id", j), "is required")
			}
			if pr.Quantity < 0 {
				add(fmt.Sprintf("products[%d].quantity", j), "must not be negative")
			}
		}
	case ProductReturned:
		requireString("order_id", string(p.OrderID))
		requireString("product_id", string(p.ProductID))
		requireString("size", string(p.Size))
		switch {
		case p.Reason == "":
			add("reason", "is required: one of too_small, too_large, not_as_pictured, quality, other")
		case !slices.Contains(ReturnReasons, p.Reason):
			add("reason", fmt.Sprintf("is %q; must be one of too_small, too_large, not_as_pictured, quality, other", truncate(p.Reason)))
		}
	case FitSurveyCompleted:
		if p.HeightCM == 0 && p.WeightKG == 0 && p.ShoeSizeUS == 0 && len(p.UsualSizes) == 0 {
			add("height_cm", "a fit survey needs at least one of height_cm, weight_kg, shoe_size_us, usual_sizes")
		}
		if p.HeightCM < 0 || p.HeightCM > 280 {
			add("height_cm", "must be between 0 and 280")
		}
		if p.WeightKG < 0 || p.WeightKG > 400 {
			add("weight_kg", "must be between 0 and 400")
		}
		if p.ShoeSizeUS < 0 || p.ShoeSizeUS > 25 {
			add("shoe_size_us", "must be between 0 and 25")
		}
		if p.Age < 0 || p.Age > 130 {
			add("age", "must be between 0 and 130")
		}
		if len(p.UsualSizes) > maxUsualSizesEntries {
			add("usual_sizes", fmt.Sprintf("has %d entries, over the limit of %d", len(p.UsualSizes), maxUsualSizesEntries))
		}
		for j, u := range p.UsualSizes {
			if u.Size == "" {
				add(fmt.Sprintf("usual_sizes[%d].size", j), "is required")
			}
		}
		if p.FitPreference != "" && !slices.Contains([]string{"snug", "regular", "loose"}, p.FitPreference) {
			add("fit_preference", fmt.Sprintf("is %q; must be snug, regular or loose", truncate(p.FitPreference)))
		}
	}
	return errs
}

// Known reports whether name is one of the events that drive Bespoke's models.
func Known(name string) bool {
	switch name {
	case ProductsSearched, ProductListViewed, ProductClicked, ProductViewed, ProductAdded,
		OrderCompleted, ProductReturned, FitSurveyCompleted, PersonalizationOut, PersonalizationIn:
		return true
	}
	return false
}

// Validate checks an event built in Go (by the simulator or a server-side sender) with
// the same rules as events parsed from the wire. i is the index reported in errors.
func (e *Event) Validate(i int) []FieldError {
	raw, err := json.Marshal(e)
	if err != nil {
		return []FieldError{{Index: i, Field: "event", Reason: "cannot be encoded: " + err.Error()}}
	}
	_, errs := parseEvent(i, raw, "", e.ReceivedAt)
	return errs
}
