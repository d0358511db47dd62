package server

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/store"
	"github.com/bespokesearch/bespoke/internal/stream"
)

// profileUpdater keeps profiles current in real time: it consumes the event stream
// with its own durable consumer and applies each event to its subject's profile, so a
// click changes that customer's next search within about a second.
type profileUpdater struct {
	s        *Server
	consumer stream.Consumer
}

func (u *profileUpdater) run(ctx context.Context) {
	for ctx.Err() == nil {
		ds, err := u.consumer.Fetch(ctx, 512, 100*time.Millisecond)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			u.s.log.Warn("profile updater cannot fetch events; retrying", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if len(ds) == 0 {
			continue
		}
		if err := u.apply(ctx, ds); err != nil {
			u.s.log.Warn("profile updater cannot apply events; they will be redelivered", "err", err)
			for _, d := range ds {
				_ = d.Nak()
			}
			sleep(ctx, time.Second)
			continue
		}
		for _, d := range ds {
			if err := d.Ack(ctx); err != nil && ctx.Err() == nil {
				u.s.log.Warn("profile updater cannot acknowledge", "err", err)
			}
		}
		u.s.metrics.profileUpdates.Add(float64(len(ds)))
	}
}

// apply applies a batch of deliveries, one read-modify-write per profile touched.
func (u *profileUpdater) apply(ctx context.Context, ds []stream.Delivery) error {
	type pending struct {
		key    []byte
		events []*event.Event
		merged bool // events of a customer and of their devices: put back in time order
	}
	var order []string
	bySubject := map[string]*pending{}
	// anonymousId → userId: an identify, or any event sent signed in from a device
	var links [][2]string
	seenLink := map[[2]string]bool{}
	type subject struct {
		id   string
		anon bool
	}
	var subjects []subject
	eventsOf := map[subject][]*event.Event{}
	for _, d := range ds {
		_ = event.DecodeEnvelope(d.Data(), func(ev *event.Event, _ []byte, err error) error {
			if err != nil {
				return nil // the lake writer dead-letters undecodable lines; profiles just skip them
			}
			if ev.UserID != "" && ev.AnonymousID != "" {
				if l := [2]string{ev.AnonymousID, ev.UserID}; !seenLink[l] {
					seenLink[l] = true
					links = append(links, l)
				}
			}
			if ev.Type == event.TypeIdentify || (!changesProfiles(ev) && !changesSizes(ev)) {
				return nil // no store round trip for events that cannot change a profile
			}
			id, anon := profile.Subject(ev)
			sj := subject{id, anon}
			if _, ok := eventsOf[sj]; !ok {
				subjects = append(subjects, sj)
			}
			eventsOf[sj] = append(eventsOf[sj], ev)
			return nil
		})
	}
	// Links first: a device newly seen signed in brings its anonymous profile to the
	// customer, and its anonymous events (this batch's too) are the customer's from now on.
	for _, l := range links {
		created, err := u.s.linkDevice(ctx, l[0], l[1])
		if err != nil {
			return err
		}
		if created {
			if err := u.s.mergeAnonymous(ctx, l[0], l[1]); err != nil {
				return err
			}
		}
	}
	for _, sj := range subjects {
		key := customerKey(sj.id)
		if sj.anon {
			key = anonymousKey(sj.id)
			if owner, ok, err := u.s.deviceOwner(ctx, sj.id); err != nil {
				return err
			} else if ok {
				key = customerKey(owner)
			}
		}
		k := string(key)
		p := bySubject[k]
		if p == nil {
			p = &pending{key: key}
			bySubject[k] = p
			order = append(order, k)
		} else {
			p.merged = true
		}
		p.events = append(p.events, eventsOf[sj]...)
	}
	lookup := u.s.profileItem
	for _, k := range order {
		p := bySubject[k]
		if u.s.isErased(ctx, p.key) {
			continue
		}
		if p.merged {
			slices.SortStableFunc(p.events, func(a, b *event.Event) int { return a.Timestamp.Compare(b.Timestamp) })
		}
		err := u.s.updateProfile(ctx, p.key, func(pr *profile.Profile) bool {
			changed := false
			for _, ev := range p.events {
				changed = pr.ApplyEvent(ev, lookup) || changed
			}
			return changed
		})
		if err != nil {
			return err
		}
		if err := u.s.observeSizes(ctx, p.key, p.events); err != nil {
			return err
		}
	}
	return nil
}

// changesProfiles reports whether ev is of a kind that profile.ApplyEvent may apply
// (TestChangesProfilesAgreesWithApplyEvent keeps the two in step). The others (searches,
// impressions, pages, unknown events) would cost a store read and a pebble lookup of
// the erasure mark per customer for nothing: at full ingest rate that was a third of
// the updater's CPU.
func changesProfiles(ev *event.Event) bool {
	if ev.Type != event.TypeTrack {
		return false
	}
	switch ev.Event {
	case event.PersonalizationOut, event.PersonalizationIn, event.ProductClicked, event.ProductViewed,
		event.ProductAdded, event.ProductReturned, event.OrderCompleted, event.FitSurveyCompleted:
		return true
	}
	return false
}

// profileItem is the profile's view of a catalog product.
func (s *Server) profileItem(id string) (profile.Item, bool) {
	p, _, ok := s.index.Lookup(id)
	if !ok {
		return profile.Item{}, false
	}
	return profile.ItemOf(p), true
}

// isErased reports whether the subject of a profile key was erased (its late events are ignored).
func (s *Server) isErased(ctx context.Context, key []byte) bool {
	if len(key) < 3 || string(key[:3]) != "pu/" {
		return false
	}
	_, err := s.profiles.Get(ctx, erasedKey(string(key[3:])))
	return err == nil
}

// mergeAnonymous folds an anonymous visitor's session profile into the customer's on identify.
func (s *Server) mergeAnonymous(ctx context.Context, anonymousID, userID string) error {
	if s.isErased(ctx, customerKey(userID)) {
		return nil // an erased customer's profile is not written again
	}
	b, err := s.profiles.Get(ctx, anonymousKey(anonymousID))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var anon profile.Profile
	if err := anon.UnmarshalBinary(b); err != nil {
		return s.profiles.Delete(ctx, anonymousKey(anonymousID))
	}
	if err := s.updateProfile(ctx, customerKey(userID), func(p *profile.Profile) bool {
		p.Merge(&anon)
		return true
	}); err != nil {
		return err
	}
	return s.profiles.Delete(ctx, anonymousKey(anonymousID))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
