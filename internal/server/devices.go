package server

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/bespokesearch/bespoke/internal/store"
)

// Device links: a browser or app (its anonymous id) once seen signed in as a customer
// belongs to that customer. Its later anonymous sessions are personalized from the
// customer's profile and size profile, and their events update the customer's, instead
// of starting a separate anonymous profile that knows nothing. The customer's list of
// devices lets erasure remove every link.
func deviceLinkKey(anonymousID string) []byte { return []byte("dl/" + anonymousID) }
func deviceListKey(userID string) []byte      { return []byte("dd/" + userID) } // a JSON array of anonymous ids

// maxLinkedDevices bounds a customer's device list; the oldest link is dropped first.
const maxLinkedDevices = 16

// deviceOwner is the customer an anonymous id is linked to, if any.
func (s *Server) deviceOwner(ctx context.Context, anonymousID string) (string, bool, error) {
	if anonymousID == "" {
		return "", false, nil
	}
	b, err := s.profiles.Get(ctx, deviceLinkKey(anonymousID))
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(b), len(b) > 0, nil
}

// linkDevice records that anonymousID belongs to userID (a sign-in on that device) and
// reports whether the link is new. A device already linked to another customer (a
// shared computer) follows the latest.
func (s *Server) linkDevice(ctx context.Context, anonymousID, userID string) (bool, error) {
	if anonymousID == "" || userID == "" {
		return false, nil
	}
	if owner, ok, err := s.deviceOwner(ctx, anonymousID); err != nil || (ok && owner == userID) {
		return false, err
	}
	if s.isErased(ctx, customerKey(userID)) {
		return false, nil
	}
	devices, err := s.linkedDevices(ctx, userID)
	if err != nil {
		return false, err
	}
	devices = slices.DeleteFunc(devices, func(d string) bool { return d == anonymousID }) // back after a while
	for len(devices) >= maxLinkedDevices {
		// the oldest link goes, unless that device has moved on to another customer
		if owner, ok, err := s.deviceOwner(ctx, devices[0]); err != nil {
			return false, err
		} else if !ok || owner == userID {
			if err := s.profiles.Delete(ctx, deviceLinkKey(devices[0])); err != nil && !errors.Is(err, store.ErrNotFound) {
				return false, err
			}
		}
		devices = devices[1:]
	}
	devices = append(devices, anonymousID)
	list, err := json.Marshal(devices) // ids may hold any character, newlines too
	if err != nil {
		return false, err
	}
	// the list first: erasure finds every link it may have to remove
	if err := s.profiles.Put(ctx, deviceListKey(userID), list); err != nil {
		return false, err
	}
	if err := s.profiles.Put(ctx, deviceLinkKey(anonymousID), []byte(userID)); err != nil {
		return false, err
	}
	if s.isErased(ctx, customerKey(userID)) {
		// erased while we linked: take back what we wrote
		return false, s.unlinkDevices(ctx, userID)
	}
	return true, nil
}

// linkedDevices is a customer's device list, oldest first. A list that does not
// decode is treated as empty (the links it named stay until their devices sign in
// elsewhere; the customer's profile keys are what erasure must remove).
func (s *Server) linkedDevices(ctx context.Context, userID string) ([]string, error) {
	b, err := s.profiles.Get(ctx, deviceListKey(userID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var devices []string
	if json.Unmarshal(b, &devices) != nil {
		s.log.Warn("corrupt device list ignored", "customer", userID)
		return nil, nil
	}
	return devices, nil
}

// unlinkDevices removes every device link of a customer (erasure).
func (s *Server) unlinkDevices(ctx context.Context, userID string) error {
	devices, err := s.linkedDevices(ctx, userID)
	if err != nil {
		return err
	}
	for _, d := range devices {
		if owner, ok, err := s.deviceOwner(ctx, d); err != nil {
			return err
		} else if ok && owner != userID {
			continue // the device moved on to another customer
		}
		if err := s.profiles.Delete(ctx, deviceLinkKey(d)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if err := s.profiles.Delete(ctx, deviceListKey(userID)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}
