package profile

import (
	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/event"
)

// Subject is whose profile an event shapes: the customer (userId) when known, else
// the anonymous visitor's session profile.
func Subject(ev *event.Event) (id string, anonymous bool) {
	if ev.UserID != "" {
		return ev.UserID, false
	}
	return ev.AnonymousID, true
}

// ApplyEvent applies one event to the profile. lookup gives the catalog view of a
// product (ok=false for unknown products, whose events still count as activity).
// It reports whether the profile changed.
func (p *Profile) ApplyEvent(ev *event.Event, lookup func(productID string) (Item, bool)) bool {
	if ev.Type != event.TypeTrack {
		return false
	}
	t := ev.Timestamp.Unix()
	item := func(id string) Item {
		if it, ok := lookup(id); ok {
			return it
		}
		return Item{ID: id}
	}
	switch ev.Event {
	case event.PersonalizationOut:
		p.OptedOut = true
		return true
	case event.PersonalizationIn:
		p.OptedOut = false
		return true
	case event.ProductClicked, event.ProductViewed, event.ProductAdded, event.ProductReturned:
	case event.OrderCompleted, event.FitSurveyCompleted:
	default:
		return false
	}
	props, err := ev.Props()
	if err != nil {
		return false
	}
	switch ev.Event {
	case event.ProductClicked:
		p.Apply(Clicked, item(string(props.ProductID)), t)
	case event.ProductViewed:
		p.Apply(Viewed, item(string(props.ProductID)), t)
	case event.ProductAdded:
		p.Apply(AddedToCart, item(string(props.ProductID)), t)
	case event.OrderCompleted:
		for _, pr := range props.Products {
			it := item(string(pr.ProductID))
			p.Apply(Purchased, it, t)
			if v, ok := catalog.SizeValue(it.SizeSystem, string(pr.Size)); ok {
				p.ObserveSize(it.SizeSystem, v, 0)
			}
		}
	case event.ProductReturned:
		kind := ReturnedOther
		shift := 0
		switch props.Reason {
		case "too_small":
			kind, shift = ReturnedForSize, 1
		case "too_large":
			kind, shift = ReturnedForSize, -1
		}
		it := item(string(props.ProductID))
		p.Apply(kind, it, t)
		if v, ok := catalog.SizeValue(it.SizeSystem, string(props.Size)); ok && shift != 0 {
			p.ObserveSize(it.SizeSystem, v, shift)
		}
	case event.FitSurveyCompleted:
		if props.ShoeWidth == "" {
			return false
		}
		p.StateWidth(props.ShoeWidth, t)
	}
	return true
}
