package lake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// tempPrefix marks names that are never part of the lake's visible contents. The file
// system storage keeps objects under construction in <root>/_tmp (Spark, Hive and
// Trino skip folders starting with "_"; DuckDB globs on events/ never see it).
const (
	tempPrefix = "_tmp"
	tempDir    = "_tmp"
)

// FS is a Storage on a local folder. Commit writes through a temporary file in
// <root>/_tmp, fsyncs it, renames it into place and fsyncs the destination folder (and
// any folder it had to create), so a published file is complete and survives power loss.
type FS struct {
	root string
}

var _ Storage = (*FS)(nil)

// NewFS opens (creating if needed) a lake rooted at dir.
func NewFS(dir string) (*FS, error) {
	if dir == "" {
		return nil, errors.New("cannot open lake: empty folder name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot open lake folder %q: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(abs, tempDir), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create lake folder %q: %w", abs, err)
	}
	return &FS{root: abs}, nil
}

// Root is the lake's folder.
func (s *FS) Root() string { return s.root }

func (s *FS) String() string { return s.root }

func (s *FS) path(key string) string { return filepath.Join(s.root, filepath.FromSlash(key)) }

// Create implements Storage.
func (s *FS) Create(ctx context.Context, key string) (Pending, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(s.root, tempDir, hex.EncodeToString(rnd[:])+"-"+strings.ReplaceAll(key, "/", "_"))
	if len(filepath.Base(tmp)) > 240 {
		tmp = filepath.Join(s.root, tempDir, hex.EncodeToString(rnd[:])+".tmp")
	}
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create temporary file for lake object %q: %w", key, err)
	}
	return &fsPending{s: s, key: key, tmp: tmp, f: f}, nil
}

type fsPending struct {
	s   *FS
	key string
	tmp string
	f   *os.File
}

func (p *fsPending) Write(b []byte) (int, error) {
	if p.f == nil {
		return 0, fmt.Errorf("cannot write lake object %q: already committed or aborted", p.key)
	}
	return p.f.Write(b)
}

func (p *fsPending) Commit(ctx context.Context) error {
	if p.f == nil {
		return fmt.Errorf("cannot commit lake object %q: already committed or aborted", p.key)
	}
	f := p.f
	p.f = nil
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(p.tmp)
		return fmt.Errorf("cannot fsync lake object %q: %w", p.key, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(p.tmp)
		return fmt.Errorf("cannot close lake object %q: %w", p.key, err)
	}
	dst := p.s.path(p.key)
	if err := mkdirAllSync(filepath.Dir(dst)); err != nil {
		os.Remove(p.tmp)
		return fmt.Errorf("cannot create folder for lake object %q: %w", p.key, err)
	}
	if err := os.Rename(p.tmp, dst); err != nil {
		os.Remove(p.tmp)
		return fmt.Errorf("cannot publish lake object %q: %w", p.key, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("cannot fsync folder of lake object %q: %w", p.key, err)
	}
	return nil
}

func (p *fsPending) Abort() error {
	if p.f == nil {
		return nil
	}
	p.f.Close()
	p.f = nil
	if err := os.Remove(p.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove temporary file of lake object %q: %w", p.key, err)
	}
	return nil
}

// mkdirAllSync creates dir and its missing parents, fsyncing each parent whose entries changed.
func mkdirAllSync(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// List implements Storage. Objects under construction (in _tmp) are never listed.
func (s *FS) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	// walk from the deepest folder fully contained in prefix
	base := prefix
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[:i]
	} else {
		base = ""
	}
	start := s.root
	if base != "" {
		start = s.path(base)
	}
	var infos []ObjectInfo
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, rerr := filepath.Rel(s.root, p)
		if rerr != nil {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == tempDir {
				return filepath.SkipDir
			}
			if rel != "." && !strings.HasPrefix(rel+"/", prefix) && !strings.HasPrefix(prefix, rel+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(rel, prefix) || !d.Type().IsRegular() {
			return nil
		}
		fi, ierr := d.Info()
		if ierr != nil {
			if errors.Is(ierr, fs.ErrNotExist) { // deleted while listing (compaction)
				return nil
			}
			return ierr
		}
		infos = append(infos, ObjectInfo{Key: rel, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot list lake %q under %q: %w", s.root, prefix, err)
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	for _, oi := range infos {
		if err := fn(oi); err != nil {
			return err
		}
	}
	return nil
}

// Stat implements Storage.
func (s *FS) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	fi, err := os.Stat(s.path(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ObjectInfo{}, fmt.Errorf("lake object %q: %w", key, ErrNotExist)
		}
		return ObjectInfo{}, fmt.Errorf("cannot stat lake object %q: %w", key, err)
	}
	return ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Open implements Storage.
func (s *FS) Open(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("lake object %q: %w", key, ErrNotExist)
		}
		return nil, fmt.Errorf("cannot open lake object %q: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot stat lake object %q: %w", key, err)
	}
	return &fsObject{File: f, size: fi.Size()}, nil
}

type fsObject struct {
	*os.File
	size int64
}

func (o *fsObject) Size() int64 { return o.size }

// Delete implements Storage.
func (s *FS) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := os.Remove(s.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot delete lake object %q: %w", key, err)
	}
	return nil
}

// RemoveStaleTemp deletes temporary files older than age (left by a crash).
func (s *FS) RemoveStaleTemp(age time.Duration) error {
	ents, err := os.ReadDir(filepath.Join(s.root, tempDir))
	if err != nil {
		return fmt.Errorf("cannot list temporary files of lake %q: %w", s.root, err)
	}
	cutoff := time.Now().Add(-age)
	for _, e := range ents {
		fi, err := e.Info()
		if err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(s.root, tempDir, e.Name()))
		}
	}
	return nil
}
