package server

import (
	"bytes"
	"context"
	"errors"

	"github.com/bespokesearch/bespoke/internal/store"
)

// Device links: a browser or app (its anonymous id) once seen signed in as a customer
// belongs to that customer. Its later anonymous sessions are personalized from the
// customer's profile and size profile, and their events update the customer's, instead
// of starting a separate anonymous profile that knows nothing. The customer's list of
// devices lets erasure remove every link.
func deviceLinkKey(anonymousID string) []byte { return []byte("dl/" + anonymousID) }
func deviceListKey(userID string) []byte      { return []byte("dd/" + userID) }

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
	list, err := s.profiles.Get(ctx, deviceListKey(userID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	devices := bytes.Split(list, []byte{'\n'})
	if len(list) == 0 {
		devices = nil
	}
	for len(devices) >= maxLinkedDevices {
		if err := s.profiles.Delete(ctx, deviceLinkKey(string(devices[0]))); err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		devices = devices[1:]
	}
	devices = append(devices, []byte(anonymousID))
	// the list first: erasure finds every link it may have to remove
	if err := s.profiles.Put(ctx, deviceListKey(userID), bytes.Join(devices, []byte{'\n'})); err != nil {
		return false, err
	}
	return true, s.profiles.Put(ctx, deviceLinkKey(anonymousID), []byte(userID))
}

// unlinkDevices removes every device link of a customer (erasure).
func (s *Server) unlinkDevices(ctx context.Context, userID string) error {
	list, err := s.profiles.Get(ctx, deviceListKey(userID))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, d := range bytes.Split(list, []byte{'\n'}) {
		if len(d) == 0 {
			continue
		}
		if owner, ok, err := s.deviceOwner(ctx, string(d)); err != nil {
			return err
		} else if ok && owner != userID {
			continue // the device moved on to another customer
		}
		if err := s.profiles.Delete(ctx, deviceLinkKey(string(d))); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if err := s.profiles.Delete(ctx, deviceListKey(userID)); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}
