package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bespokesearch/bespoke/internal/gbdt"
	"github.com/bespokesearch/bespoke/internal/rank"
	"github.com/bespokesearch/bespoke/internal/size"
	"github.com/bespokesearch/bespoke/internal/store"
	"github.com/bespokesearch/bespoke/internal/train"
)

// Published models live in the online store as versioned snapshots:
//
//	model/active                 the version in service
//	model/list                   JSON: every published version with its offline scores
//	model/<version>/rank/<i>     the ranking snapshot, in chunks (DynamoDB items hold ≤ 400 KB)
//	model/<version>/size/<i>     the size model, in chunks
//	model/<version>/report       the training report (JSON)
//
// Activation writes model/active last, so a reader never sees a half-published version.
const chunkBytes = 256 << 10

// ModelInfo is one published version.
type ModelInfo struct {
	Version     string    `json:"version"`
	TrainedAt   time.Time `json:"trained_at"`
	NDCG10      float64   `json:"ndcg@10"`
	MRR         float64   `json:"mrr"`
	RankChunks  int       `json:"rank_chunks"`
	SizeChunks  int       `json:"size_chunks"`
	Active      bool      `json:"active"`
	PublishedAt time.Time `json:"published_at"`
}

// models serializes publication and activation.
type models struct {
	mu       sync.Mutex
	training sync.Mutex
}

func (s *Server) putChunks(ctx context.Context, prefix string, b []byte) (int, error) {
	var kvs []store.KV
	for i := 0; i*chunkBytes < len(b) || i == 0; i++ {
		end := min((i+1)*chunkBytes, len(b))
		kvs = append(kvs, store.KV{Key: []byte(prefix + strconv.Itoa(i)), Value: b[i*chunkBytes : end]})
	}
	if err := s.backend.PutBatch(ctx, kvs); err != nil {
		return 0, err
	}
	return len(kvs), nil
}

func (s *Server) getChunks(ctx context.Context, prefix string, n int) ([]byte, error) {
	var out []byte
	for i := range n {
		b, err := s.backend.Get(ctx, []byte(prefix+strconv.Itoa(i)))
		if err != nil {
			return nil, fmt.Errorf("cannot read %s%d: %w", prefix, i, err)
		}
		out = append(out, b...)
	}
	return out, nil
}

func (s *Server) modelList(ctx context.Context) ([]ModelInfo, error) {
	b, err := s.backend.Get(ctx, []byte("model/list"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []ModelInfo
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("model list is damaged: %w", err)
	}
	return list, nil
}

func (s *Server) saveModelList(ctx context.Context, list []ModelInfo) error {
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	return s.backend.Put(ctx, []byte("model/list"), b)
}

// publish writes a trained result as a new version and activates it unless it scores
// worse offline than the active one (force activates anyway). It returns whether the
// new version is active.
func (s *Server) publish(ctx context.Context, res *train.Result, force bool) (bool, error) {
	s.models.mu.Lock()
	defer s.models.mu.Unlock()
	v := res.Report.ModelVersion
	rb, err := rank.MarshalSnapshot(res.Snapshot, train.Codec)
	if err != nil {
		return false, err
	}
	info := ModelInfo{Version: v, TrainedAt: res.Report.TrainedAt, PublishedAt: time.Now().UTC()}
	for _, r := range res.Report.Rankers {
		if r.Name == "personalized" {
			info.NDCG10, info.MRR = r.NDCG10, r.MRR
		}
	}
	if info.RankChunks, err = s.putChunks(ctx, "model/"+v+"/rank/", rb); err != nil {
		return false, fmt.Errorf("cannot publish the ranking snapshot: %w", err)
	}
	if res.Size != nil {
		sb, err := res.Size.MarshalBinary()
		if err != nil {
			return false, err
		}
		if info.SizeChunks, err = s.putChunks(ctx, "model/"+v+"/size/", sb); err != nil {
			return false, fmt.Errorf("cannot publish the size model: %w", err)
		}
	}
	rep, _ := json.Marshal(res.Report)
	if err := s.backend.Put(ctx, []byte("model/"+v+"/report"), rep); err != nil {
		return false, err
	}
	list, err := s.modelList(ctx)
	if err != nil {
		return false, err
	}
	list = slices.DeleteFunc(list, func(m ModelInfo) bool { return m.Version == v })
	activate := force
	if !force {
		activate = true
		for _, m := range list {
			if m.Active && m.NDCG10 > info.NDCG10 {
				activate = false
			}
		}
	}
	list = append(list, info)
	if err := s.saveModelList(ctx, list); err != nil {
		return false, err
	}
	if !activate {
		return false, nil
	}
	if res.Size != nil {
		// the customers' size profiles go to the store before the model that reads them
		n, err := s.publishSizeProfiles(ctx, res.Size)
		if err != nil {
			return false, fmt.Errorf("cannot publish the size profiles: %w", err)
		}
		s.log.Info("size profiles published", "version", v, "profiles", n)
	}
	return true, s.activateLocked(ctx, v, res.Snapshot, res.Size)
}

// activateLocked makes version v the one in service, loading it when snap is nil.
func (s *Server) activateLocked(ctx context.Context, v string, snap *rank.Snapshot, sm *size.Model) error {
	list, i, err := s.publishedModel(ctx, v)
	if err != nil {
		return err
	}
	if snap == nil {
		if snap, sm, err = s.loadVersion(ctx, list[i]); err != nil {
			return err
		}
	}
	for j := range list {
		list[j].Active = j == i
	}
	if err := s.saveModelList(ctx, list); err != nil {
		return err
	}
	if err := s.backend.Put(ctx, []byte("model/active"), []byte(v)); err != nil {
		return err
	}
	s.active.Store(snap)
	if sm != nil {
		s.serveSizeModel(sm)
	}
	s.log.Info("model activated", "version", v)
	return nil
}

func (s *Server) loadVersion(ctx context.Context, m ModelInfo) (*rank.Snapshot, *size.Model, error) {
	rb, err := s.getChunks(ctx, "model/"+m.Version+"/rank/", m.RankChunks)
	if err != nil {
		return nil, nil, err
	}
	snap, err := rank.UnmarshalSnapshot(rb, train.Codec)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot load model %s: %w", m.Version, err)
	}
	sm, err := s.loadSizeModel(ctx, m)
	if err != nil {
		return nil, nil, err
	}
	return snap, sm, nil
}

// loadSizeModel loads the size model of version m (nil if it has none).
func (s *Server) loadSizeModel(ctx context.Context, m ModelInfo) (*size.Model, error) {
	if m.SizeChunks == 0 {
		return nil, nil
	}
	sb, err := s.getChunks(ctx, "model/"+m.Version+"/size/", m.SizeChunks)
	if err != nil {
		return nil, err
	}
	sm, err := size.UnmarshalModel(sb)
	if err != nil {
		return nil, fmt.Errorf("cannot load the size model of %s: %w", m.Version, err)
	}
	return sm, nil
}

// loadActive puts the active published version (if any) in service at startup.
func (s *Server) loadActive(ctx context.Context) error {
	b, err := s.backend.Get(ctx, []byte("model/active"))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s.models.mu.Lock()
	defer s.models.mu.Unlock()
	err = s.activateLocked(ctx, string(b), nil, nil)
	if err == nil {
		return nil
	}
	// A ranking snapshot this binary cannot read (one written before its features
	// changed) must not also take the size model, which does not depend on them, out
	// of service: serve it with the default ranking until the next training run.
	if list, i, lerr := s.publishedModel(ctx, string(b)); lerr == nil {
		if sm, serr := s.loadSizeModel(ctx, list[i]); serr == nil && sm != nil {
			s.serveSizeModel(sm)
			return fmt.Errorf("%w (its size model is in service; train to replace the ranking)", err)
		}
	}
	return err
}

// publishedModel returns the list of published models and the index of version v in it.
func (s *Server) publishedModel(ctx context.Context, v string) ([]ModelInfo, int, error) {
	list, err := s.modelList(ctx)
	if err != nil {
		return nil, -1, err
	}
	i := slices.IndexFunc(list, func(m ModelInfo) bool { return m.Version == v })
	if i < 0 {
		return nil, -1, fmt.Errorf("no published model %q", v)
	}
	return list, i, nil
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	list, err := s.modelList(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"active": s.active.Load().Version, "models": list})
}

func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	v := r.PathValue("version")
	s.models.mu.Lock()
	err := s.activateLocked(r.Context(), v, nil, nil)
	s.models.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"active": v})
}

func (s *Server) handleTrain(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	force := r.URL.Query().Get("force") == "true"
	if !s.models.training.TryLock() {
		writeError(w, http.StatusConflict, "a training run is already in progress")
		return
	}
	defer s.models.training.Unlock()
	rep, active, err := s.Train(r.Context(), force)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, train.ErrNoData) {
			status = http.StatusConflict
		}
		writeError(w, status, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, struct {
		*train.Report
		Activated bool `json:"activated"`
	}{rep, active})
}

// Train flushes the lake, trains on it, publishes the result and returns the report.
func (s *Server) Train(ctx context.Context, force bool) (*train.Report, bool, error) {
	fctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	err := s.pipe.flush(fctx)
	cancel()
	if err != nil {
		return nil, false, err
	}
	params := gbdt.DefaultParams()
	params.EarlyStoppingRounds = 20
	if s.cfg.TrainTrees > 0 {
		params.NumTrees = s.cfg.TrainTrees
	}
	res, err := train.Run(ctx, train.Options{
		Lake: s.pipe.lakeStore, Products: s.catalog.All(), Text: s.textScores, Params: params,
		Progress: func(f string, a ...any) { s.log.Info("train: " + fmt.Sprintf(f, a...)) },
	})
	if err != nil {
		return nil, false, err
	}
	active, err := s.publish(ctx, res, force)
	if err != nil {
		return nil, false, fmt.Errorf("trained, but cannot publish: %w", err)
	}
	return &res.Report, active, nil
}

// textScores is the BM25 of the products a query retrieves, for training features.
func (s *Server) textScores(q string) map[string]float32 {
	res, err := s.index.Search(context.Background(), retrieveAll(q))
	if err != nil {
		return nil
	}
	out := make(map[string]float32, len(res.Hits))
	for _, h := range res.Hits {
		out[h.ProductID] = float32(h.Score)
	}
	return out
}
