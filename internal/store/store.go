package store

import (
	"context"
	"errors"
	"fmt"
)

// MaxKeyLen is the longest key every backend accepts (DynamoDB allows 2048 bytes for a binary
// partition key; we stay well below so that a key never dominates an item's size).
const MaxKeyLen = 1024

// Errors that callers test for with errors.Is.
var (
	// ErrNotFound is returned (wrapped) by Get when the key is absent.
	ErrNotFound = errors.New("store: key not found")
	// ErrClosed is returned (wrapped) by every method after Close.
	ErrClosed = errors.New("store: closed")
	// ErrInvalidKey is returned (wrapped) for an empty or too long key or prefix.
	ErrInvalidKey = errors.New("store: invalid key")
)

// KV is one key and its value, for PutBatch.
type KV struct {
	Key   []byte
	Value []byte
}

// Store is the online key-value store. See the package documentation for the contract that
// every implementation follows and that storetest checks.
type Store interface {
	// Get returns the value of key, or an error wrapping ErrNotFound when it is absent.
	Get(ctx context.Context, key []byte) ([]byte, error)
	// MultiGet returns the values of keys in order; an absent key gives a nil entry.
	MultiGet(ctx context.Context, keys [][]byte) ([][]byte, error)
	// Put sets key to value.
	Put(ctx context.Context, key, value []byte) error
	// PutBatch sets every pair; atomicity depends on the backend (see its documentation).
	PutBatch(ctx context.Context, kvs []KV) error
	// Delete removes key; removing an absent key is not an error.
	Delete(ctx context.Context, key []byte) error
	// DeletePrefix removes every key that starts with prefix, which must not be empty.
	DeletePrefix(ctx context.Context, prefix []byte) error
	// Close releases the store; later calls return an error wrapping ErrClosed.
	Close() error
}

// CheckKey returns an error wrapping ErrInvalidKey when key is empty or longer than MaxKeyLen.
// Backends call it on every key and prefix they receive.
func CheckKey(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("empty key: %w", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("key of %d bytes is longer than %d: %w", len(key), MaxKeyLen, ErrInvalidKey)
	}
	return nil
}

// CheckPrefix returns an error wrapping ErrInvalidKey when prefix is empty or too long.
func CheckPrefix(prefix []byte) error {
	if len(prefix) == 0 {
		return fmt.Errorf("empty prefix would delete the whole store: %w", ErrInvalidKey)
	}
	if len(prefix) > MaxKeyLen {
		return fmt.Errorf("prefix of %d bytes is longer than %d: %w", len(prefix), MaxKeyLen, ErrInvalidKey)
	}
	return nil
}

// PrefixEnd returns the smallest key greater than every key that starts with prefix, or nil when
// there is none (prefix is all 0xff bytes). Backends with ordered keys use it for range deletes.
func PrefixEnd(prefix []byte) []byte {
	end := make([]byte, len(prefix))
	copy(end, prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// DedupLastWins returns kvs with every key kept once, at the position of its first occurrence,
// with the value of its last occurrence. It returns kvs itself when no key repeats. Backends
// whose batch APIs reject duplicate keys (DynamoDB) use it.
func DedupLastWins(kvs []KV) []KV {
	seen := make(map[string]int, len(kvs))
	dup := false
	for i, kv := range kvs {
		if _, ok := seen[string(kv.Key)]; ok {
			dup = true
		}
		seen[string(kv.Key)] = i
	}
	if !dup {
		return kvs
	}
	out := make([]KV, 0, len(seen))
	for _, kv := range kvs {
		last, ok := seen[string(kv.Key)]
		if !ok {
			continue
		}
		out = append(out, KV{Key: kv.Key, Value: kvs[last].Value})
		delete(seen, string(kv.Key))
	}
	return out
}
