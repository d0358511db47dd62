package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ErrNotExist is returned (wrapped) by Storage.Stat and Storage.Open for a key that is not published.
var ErrNotExist = errors.New("lake object does not exist")

// Storage is where the lake's objects live: a local folder (NewFS) or an S3 bucket
// prefix (NewS3). Keys are slash-separated and relative to the lake root. Only
// committed objects are ever visible to List, Stat and Open: an object is written
// through a Pending and published atomically by Commit.
type Storage interface {
	// Create starts a new object. Nothing is visible under key until Commit succeeds.
	Create(ctx context.Context, key string) (Pending, error)
	// List calls fn for every published object whose key starts with prefix, in
	// lexical order of keys.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Stat returns the object's info, or an error wrapping ErrNotExist.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Open opens a published object for random-access reading.
	Open(ctx context.Context, key string) (Object, error)
	// Delete removes a published object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// String names the storage for messages (a path or an s3:// URL).
	String() string
}

// Pending is an object being written. Commit publishes it atomically and durably: when
// Commit returns nil, the whole object is visible and survives a crash; before, no part
// of it is visible. Abort discards it. After Commit or Abort the Pending is unusable.
type Pending interface {
	io.Writer
	Commit(ctx context.Context) error
	Abort() error
}

// Object is a published object open for reading.
type Object interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// ObjectInfo describes a published object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// checkKey refuses keys that could escape the lake root or name a folder.
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") || strings.Contains(key, "\\") {
		return fmt.Errorf("invalid lake key %q: want a relative slash-separated path", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, tempPrefix) {
			return fmt.Errorf("invalid lake key %q: empty, dot or reserved segment %q", key, seg)
		}
	}
	return nil
}

// ReadAll reads a whole (small) object.
func ReadAll(ctx context.Context, st Storage, key string) ([]byte, error) {
	o, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	b := make([]byte, o.Size())
	if _, err := o.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("cannot read lake object %q: %w", key, err)
	}
	return b, nil
}

// WriteObject writes and publishes a whole (small) object.
func WriteObject(ctx context.Context, st Storage, key string, data []byte) error {
	p, err := st.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := p.Write(data); err != nil {
		_ = p.Abort()
		return fmt.Errorf("cannot write lake object %q: %w", key, err)
	}
	return p.Commit(ctx)
}

// OpenStorage opens the lake at url: a local path (or file://path), or
// s3://bucket/prefix (see S3Options; the URL may carry ?endpoint=…&region=…&path_style=true).
func OpenStorage(ctx context.Context, url string, s3opts S3Options) (Storage, error) {
	switch {
	case strings.HasPrefix(url, "s3://"):
		return NewS3(ctx, url, s3opts)
	case strings.HasPrefix(url, "file://"):
		return NewFS(strings.TrimPrefix(url, "file://"))
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("unsupported lake URL %q: use a local path, file://path or s3://bucket/prefix", url)
	}
	return NewFS(url)
}
