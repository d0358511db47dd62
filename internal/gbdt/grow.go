package gbdt

import (
	"sync"
)

// gradPair is the first and second derivative of the loss for one row.
type gradPair struct{ g, h float32 }

// histBin accumulates the gradients of the rows of one node falling in one bin.
type histBin struct {
	g, h float64
	c    int64
}

// split is the best split found for a node.
type split struct {
	feature     int
	bin         int // rows with bin ≤ bin go left
	defaultLeft bool
	gain        float64
	gl, hl      float64
	cl          int64
	ok          bool
}

// better reports whether s beats o (higher gain, then lower feature, then lower bin)
// so that the result does not depend on how features are shared among goroutines.
func (s *split) better(o *split) bool {
	if !s.ok {
		return false
	}
	if !o.ok || s.gain != o.gain {
		return !o.ok || s.gain > o.gain
	}
	if s.feature != o.feature {
		return s.feature < o.feature
	}
	return s.bin < o.bin
}

// growNode is a node of the tree being grown; its rows are rows[start:end].
type growNode struct {
	id         int
	start, end int
	g, h       float64
	c          int64
	depth      int
	hist       []histBin
	best       split
}

// leafSpan records which rows ended in which leaf.
type leafSpan struct {
	node       int
	start, end int
}

// grower grows one tree at a time on binned data.
type grower struct {
	p       *Params
	bm      *binMapper
	cols    [][]uint8
	off     []int // offset of each feature's bins in a histogram
	histLen int
	threads int

	rows    []int32
	scratch []int32
	ordered []gradPair // gradients in the order of rows
	pool    [][]histBin

	// Outputs of the last grow: the tree, the bin of each split, the leaf spans.
	tree      []TreeNode
	splitBins []int
	leaves    []leafSpan
}

func newGrower(p *Params, bm *binMapper, cols [][]uint8, n int) *grower {
	gr := &grower{p: p, bm: bm, cols: cols, threads: p.NumThreads}
	gr.off = make([]int, len(cols)+1)
	for f := range cols {
		gr.off[f+1] = gr.off[f] + bm.numBins(f) + 1
	}
	gr.histLen = gr.off[len(cols)]
	gr.rows = make([]int32, n)
	gr.scratch = make([]int32, n)
	gr.ordered = make([]gradPair, n)
	return gr
}

func (gr *grower) getHist() []histBin {
	if k := len(gr.pool); k > 0 {
		h := gr.pool[k-1]
		gr.pool = gr.pool[:k-1]
		return h
	}
	return make([]histBin, gr.histLen)
}

func (gr *grower) putHist(h []histBin) {
	if h != nil {
		gr.pool = append(gr.pool, h)
	}
}

// leafValue is the Newton step for a node, shrunk by the learning rate.
func (gr *grower) leafValue(g, h float64) float32 {
	return float32(-g / (h + gr.p.Lambda) * gr.p.LearningRate)
}

// buildJob asks for the histogram of small (built from its rows) and of large
// (parent minus small, computed in place in the parent's histogram, which large
// inherits), then for the best split of both.
type buildJob struct {
	small, large *growNode
}

// grow fits a tree to grad over the rows selected (all rows when sample is nil).
func (gr *grower) grow(grad []gradPair, sample []int32) {
	n := len(gr.rows)
	if sample != nil {
		n = copy(gr.rows, sample)
	} else {
		for i := range gr.rows {
			gr.rows[i] = int32(i)
		}
	}
	gr.tree = gr.tree[:0]
	gr.splitBins = gr.splitBins[:0]
	gr.leaves = gr.leaves[:0]

	root := &growNode{id: 0, start: 0, end: n}
	for _, r := range gr.rows[:n] {
		root.g += float64(grad[r].g)
		root.h += float64(grad[r].h)
	}
	root.c = int64(n)
	gr.tree = append(gr.tree, TreeNode{Left: -1, Right: -1})
	gr.splitBins = append(gr.splitBins, -1)
	if gr.canSplit(root) {
		root.hist = gr.getHist()
		gr.buildLevel(grad, []buildJob{{small: root}})
	}
	frontier := []*growNode{root}
	var next []*growNode
	var jobs []buildJob
	for len(frontier) > 0 {
		next, jobs = next[:0], jobs[:0]
		for _, nd := range frontier {
			if !nd.best.ok {
				gr.tree[nd.id].Value = gr.leafValue(nd.g, nd.h)
				gr.leaves = append(gr.leaves, leafSpan{nd.id, nd.start, nd.end})
				gr.putHist(nd.hist)
				nd.hist = nil
				continue
			}
			left, right := gr.applySplit(nd)
			next = append(next, left, right)
			lc, rc := gr.canSplit(left), gr.canSplit(right)
			if !lc && !rc {
				gr.putHist(nd.hist)
				nd.hist = nil
				continue
			}
			small, large := left, right
			if right.c < left.c {
				small, large = right, left
			}
			small.hist = gr.getHist()
			large.hist = nd.hist
			nd.hist = nil
			jobs = append(jobs, buildJob{small: small, large: large})
		}
		if len(jobs) > 0 {
			gr.buildLevel(grad, jobs)
		}
		for _, nd := range next {
			if !gr.canSplit(nd) {
				nd.best.ok = false
			}
		}
		frontier, next = next, frontier
	}
}

// canSplit reports whether a node may still be split.
func (gr *grower) canSplit(nd *growNode) bool {
	p := gr.p
	return nd.depth < p.MaxDepth && nd.c >= 2*int64(p.MinDataInLeaf) && nd.h >= 2*p.MinChildWeight
}

// applySplit partitions the node's rows (stable) and appends its two children.
func (gr *grower) applySplit(nd *growNode) (left, right *growNode) {
	s := nd.best
	col := gr.cols[s.feature]
	missing := uint8(gr.bm.numBins(s.feature))
	bin := uint8(s.bin)
	seg := gr.rows[nd.start:nd.end]
	nl, nr := 0, 0
	for _, r := range seg {
		b := col[r]
		if b <= bin || (b == missing && s.defaultLeft) {
			seg[nl] = r
			nl++
		} else {
			gr.scratch[nr] = r
			nr++
		}
	}
	copy(seg[nl:], gr.scratch[:nr])

	li := len(gr.tree)
	gr.tree = append(gr.tree, TreeNode{Left: -1, Right: -1}, TreeNode{Left: -1, Right: -1})
	gr.splitBins = append(gr.splitBins, -1, -1)
	gr.tree[nd.id] = TreeNode{
		Feature:     s.feature,
		Threshold:   gr.bm.cuts[s.feature][s.bin],
		Left:        li,
		Right:       li + 1,
		DefaultLeft: s.defaultLeft,
		Gain:        s.gain,
	}
	gr.splitBins[nd.id] = s.bin
	left = &growNode{id: li, start: nd.start, end: nd.start + nl, g: s.gl, h: s.hl, c: s.cl, depth: nd.depth + 1}
	right = &growNode{id: li + 1, start: nd.start + nl, end: nd.end, g: nd.g - s.gl, h: nd.h - s.hl, c: nd.c - s.cl, depth: nd.depth + 1}
	return left, right
}

// buildLevel builds the histograms of the jobs and finds their best splits, the
// features shared among the goroutines.
func (gr *grower) buildLevel(grad []gradPair, jobs []buildJob) {
	threads := max(1, min(gr.threads, len(gr.cols)))
	bests := make([][]split, threads) // per goroutine: 2 per job
	// Gather the gradients of the rows in partition order once, so that every
	// feature's pass reads them sequentially.
	ordered := gr.ordered
	for _, job := range jobs {
		for k, r := range gr.rows[job.small.start:job.small.end] {
			ordered[job.small.start+k] = grad[r]
		}
	}
	work := func(w int) {
		local := make([]split, 2*len(jobs))
		for f := w; f < len(gr.cols); f += threads {
			lo, hi := gr.off[f], gr.off[f+1]
			col := gr.cols[f]
			for j, job := range jobs {
				sh := job.small.hist[lo:hi]
				clear(sh)
				og := ordered[job.small.start:job.small.end]
				for k, r := range gr.rows[job.small.start:job.small.end] {
					gp := og[k]
					b := &sh[col[r]]
					b.g += float64(gp.g)
					b.h += float64(gp.h)
					b.c++
				}
				gr.findSplit(job.small, f, sh, &local[2*j])
				if job.large != nil {
					lh := job.large.hist[lo:hi]
					for i := range lh {
						lh[i].g -= sh[i].g
						lh[i].h -= sh[i].h
						lh[i].c -= sh[i].c
					}
					gr.findSplit(job.large, f, lh, &local[2*j+1])
				}
			}
		}
		bests[w] = local
	}
	if threads == 1 {
		work(0)
	} else {
		var wg sync.WaitGroup
		for w := 0; w < threads; w++ {
			wg.Add(1)
			go func(w int) { defer wg.Done(); work(w) }(w)
		}
		wg.Wait()
	}
	for j, job := range jobs {
		job.small.best = split{}
		for w := range bests {
			if s := bests[w][2*j]; s.better(&job.small.best) {
				job.small.best = s
			}
		}
		if job.large != nil {
			job.large.best = split{}
			for w := range bests {
				if s := bests[w][2*j+1]; s.better(&job.large.best) {
					job.large.best = s
				}
			}
		}
	}
}

// findSplit scans the histogram of feature f for the node's best split, trying
// missing values on both sides, and keeps it in best if it beats best.
func (gr *grower) findSplit(nd *growNode, f int, h []histBin, best *split) {
	if !gr.canSplit(nd) {
		return
	}
	p := gr.p
	lambda := p.Lambda
	minH := p.MinChildWeight
	minC := int64(p.MinDataInLeaf)
	nb := len(h) - 1 // value bins; h[nb] is the missing bin
	miss := h[nb]
	parent := nd.g * nd.g / (nd.h + lambda)
	var gl, hl float64
	var cl int64
	try := func(gl, hl float64, cl int64, bin int, defaultLeft bool) {
		gr_, hr, cr := nd.g-gl, nd.h-hl, nd.c-cl
		if cl < minC || cr < minC || hl < minH || hr < minH {
			return
		}
		gain := 0.5 * (gl*gl/(hl+lambda) + gr_*gr_/(hr+lambda) - parent)
		if !(gain > p.MinSplitGain) || gain <= 1e-12 {
			return
		}
		s := split{feature: f, bin: bin, defaultLeft: defaultLeft, gain: gain, gl: gl, hl: hl, cl: cl, ok: true}
		if s.better(best) {
			*best = s
		}
	}
	for b := 0; b < nb-1; b++ {
		gl += h[b].g
		hl += h[b].h
		cl += h[b].c
		if miss.c > 0 {
			try(gl, hl, cl, b, false)
			try(gl+miss.g, hl+miss.h, cl+miss.c, b, true)
		} else {
			// No missing value seen here: unseen NaN follow the heavier side.
			try(gl, hl, cl, b, hl >= nd.h-hl)
		}
	}
}

// predictBinned returns the leaf a training row (by its bins) falls in.
func (gr *grower) predictBinned(r int32) int {
	i := 0
	for {
		nd := &gr.tree[i]
		if nd.Left < 0 {
			return i
		}
		b := gr.cols[nd.Feature][r]
		switch {
		case int(b) == gr.bm.numBins(nd.Feature):
			if nd.DefaultLeft {
				i = nd.Left
			} else {
				i = nd.Right
			}
		case int(b) <= gr.splitBins[i]:
			i = nd.Left
		default:
			i = nd.Right
		}
	}
}
