package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/lake"
	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/store"
)

// Keys of the online store owned by the server (see package store for the conventions).
func customerKey(id string) []byte  { return []byte("pu/" + id) }
func anonymousKey(id string) []byte { return []byte("pa/" + id) }
func erasedKey(id string) []byte    { return []byte("erased/" + id) }

// profileFor fetches the profile that personalizes a request within ctx's deadline.
// It returns nil when the request is not to be personalized: no ids, nothing known,
// opted out — or the store failed or was too slow, in which case reason says why
// (for the fallback metric) and the caller answers with the non-personalized ranking.
// A visitor on a device once signed in is their customer (personOf).
func (s *Server) profileFor(ctx context.Context, customerID, anonymousID string) (*profile.Profile, string) {
	customerID, reason := s.personOf(ctx, customerID, anonymousID)
	if reason != "" {
		return nil, reason
	}
	return s.profileOfPerson(ctx, customerID, anonymousID)
}

// profileOfPerson is profileFor for a person personOf already resolved.
func (s *Server) profileOfPerson(ctx context.Context, customerID, anonymousID string) (*profile.Profile, string) {
	for _, key := range [][]byte{keyIf(customerID, customerKey), keyIf(anonymousID, anonymousKey)} {
		if key == nil {
			continue
		}
		b, err := s.profiles.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, "profile_deadline"
			}
			return nil, "profile_unavailable"
		}
		p := new(profile.Profile)
		if err := p.UnmarshalBinary(b); err != nil {
			s.log.Warn("corrupt profile ignored", "key", string(key), "err", err)
			return nil, "profile_corrupt"
		}
		if p.OptedOut || p.Events == 0 {
			return nil, ""
		}
		return p, ""
	}
	return nil, ""
}

// personOf is the customer a request is for: customerID, or for an anonymous visitor
// the customer their device is linked to (devices.go), or "". reason is set when the
// store failed or was too slow (the request is then not personalized).
func (s *Server) personOf(ctx context.Context, customerID, anonymousID string) (string, string) {
	if customerID != "" || anonymousID == "" {
		return customerID, ""
	}
	owner, _, err := s.deviceOwner(ctx, anonymousID)
	if err != nil {
		if ctx.Err() != nil {
			return "", "profile_deadline"
		}
		return "", "profile_unavailable"
	}
	return owner, ""
}

func keyIf(id string, f func(string) []byte) []byte {
	if id == "" {
		return nil
	}
	return f(id)
}

// updateProfile applies fn to the stored profile of key (a new one when absent) and
// writes it back.
func (s *Server) updateProfile(ctx context.Context, key []byte, fn func(*profile.Profile) bool) error {
	p := new(profile.Profile)
	b, err := s.profiles.Get(ctx, key)
	switch {
	case err == nil:
		if err := p.UnmarshalBinary(b); err != nil {
			s.log.Warn("corrupt profile replaced", "key", string(key), "err", err)
			p = new(profile.Profile)
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if !fn(p) {
		return nil
	}
	enc, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	return s.profiles.Put(ctx, key, enc)
}

func (s *Server) handleOptOut(out bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.requireWriteKey(w, r) {
			return
		}
		id := r.PathValue("id")
		if id == "" || len(id) > event.MaxIDBytes {
			badField(w, "id", "must be a customer id of 1 to 256 bytes")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		err := s.updateProfile(ctx, customerKey(id), func(p *profile.Profile) bool {
			p.OptedOut = out
			return true
		})
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "cannot record the choice now: "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"customer_id": id, "opted_out": out})
	}
}

func (s *Server) handleErase(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	id := r.PathValue("id")
	if id == "" || len(id) > event.MaxIDBytes {
		badField(w, "id", "must be a customer id of 1 to 256 bytes")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := s.eraseCustomer(ctx, id); err != nil {
		writeError(w, http.StatusServiceUnavailable, "cannot erase the customer now (nothing half-done is left visible; retry): "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"erased": id})
}

// eraseCustomer removes everything kept about a customer from the online store and
// its caches, and records the erasure so that the lake's next compaction drops their
// events (and the updater ignores late events already in flight).
func (s *Server) eraseCustomer(ctx context.Context, id string) error {
	if err := s.profiles.Put(ctx, erasedKey(id), []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
		return err
	}
	devices, err := s.linkedDevices(ctx, id) // read before unlinking: their anonymous events are the customer's
	if err != nil {
		return err
	}
	for _, k := range [][]byte{customerKey(id), anonymousKey(id), sizeKey(id), deviceLinkKey(id)} {
		if err := s.profiles.Delete(ctx, k); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if err := s.unlinkDevices(ctx, id); err != nil {
		return err
	}
	if s.pipe != nil {
		// The lake keeps the request; the next compaction rewrites the files without them.
		if err := lake.RequestErasure(ctx, s.pipe.lakeStore, id, id); err != nil {
			return fmt.Errorf("cannot record the erasure in the lake: %w", err)
		}
		for _, d := range devices {
			if err := lake.RequestErasure(ctx, s.pipe.lakeStore, id, d); err != nil {
				return fmt.Errorf("cannot record the erasure of device %q in the lake: %w", d, err)
			}
		}
	}
	return nil
}
