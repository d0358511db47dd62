package experiment

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// checkMerge asserts the team-draft invariants on one merge.
func checkMerge(t *testing.T, a, b, out []int, teams []Team, limit int) {
	t.Helper()
	if len(out) != len(teams) {
		t.Fatalf("%d items but %d teams", len(out), len(teams))
	}
	seen := map[int]bool{}
	union := map[int]bool{}
	for _, x := range a {
		union[x] = true
	}
	for _, x := range b {
		union[x] = true
	}
	// Balance is promised when both rankings order the same candidates, each once.
	sameSet := len(union) == len(a) && len(union) == len(b)
	if sameSet {
		sa := map[int]bool{}
		for _, x := range a {
			sa[x] = true
		}
		sb := map[int]bool{}
		for _, x := range b {
			sameSet = sameSet && sa[x]
			sb[x] = true
		}
		sameSet = sameSet && len(sa) == len(a) && len(sb) == len(b)
	}
	want := len(union)
	if limit > 0 && limit < want {
		want = limit
	}
	if len(out) != want {
		t.Fatalf("merged %d items, want %d (union %d, limit %d)", len(out), want, len(union), limit)
	}
	na, nb := 0, 0
	for k, x := range out {
		if seen[x] {
			t.Fatalf("item %d appears twice in %v", x, out)
		}
		seen[x] = true
		switch teams[k] {
		case TeamA:
			na++
			if !slices.Contains(a, x) {
				t.Fatalf("slot %d: item %d credited to A is not in A", k, x)
			}
		case TeamB:
			nb++
			if !slices.Contains(b, x) {
				t.Fatalf("slot %d: item %d credited to B is not in B", k, x)
			}
		default:
			t.Fatalf("slot %d has no team", k)
		}
		// With the same candidates in both rankings, every prefix is balanced.
		if sameSet && (na-nb > 1 || nb-na > 1) {
			t.Fatalf("prefix %d unbalanced: A %d, B %d", k+1, na, nb)
		}
	}
}

func TestTeamDraftInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []int
	var teams []Team
	var used []bool
	for trial := 0; trial < 2000; trial++ {
		n := rng.IntN(60)
		a := rng.Perm(n)
		b := rng.Perm(n)
		limit := 0
		if trial%3 == 0 {
			limit = rng.IntN(n + 5)
		}
		if trial%5 == 1 { // different candidate sets and duplicates inside an input
			b = append(rng.Perm(n/2+1), rng.IntN(n+1), rng.IntN(n+1))
		}
		out, teams, used = TeamDraft(a, b, rng.Uint64(), limit, out, teams, used)
		checkMerge(t, a, b, out, teams, limit)
	}
}

func TestTeamDraftPicksEachRankingsTopAndIsDeterministic(t *testing.T) {
	a := []int{0, 1, 2, 3, 4, 5}
	b := []int{5, 4, 3, 2, 1, 0}
	first := map[Team]int{}
	for seed := uint64(0); seed < 400; seed++ {
		out, teams, _ := TeamDraft(a, b, seed, 0, nil, nil, nil)
		again, teams2, _ := TeamDraft(a, b, seed, 0, nil, nil, nil)
		if !slices.Equal(out, again) || !slices.Equal(teams, teams2) {
			t.Fatal("the same seed gave two lists")
		}
		// The first two slots are the two rankings' top items, in coin order.
		if !(out[0] == 0 && out[1] == 5 || out[0] == 5 && out[1] == 0) {
			t.Fatalf("seed %d: first slots %v", seed, out[:2])
		}
		first[teams[0]]++
	}
	// The coin is fair: each team picks first in about half the lists.
	if first[TeamA] < 160 || first[TeamB] < 160 {
		t.Fatalf("team picking first: %v", first)
	}
	if InterleaveSeed("s", "C1", "boots") != InterleaveSeed("s", "C1", "boots") ||
		InterleaveSeed("s", "C1", "boots") == InterleaveSeed("s", "C2", "boots") ||
		InterleaveSeed("s", "C1", "boots") == InterleaveSeed("s", "C1", "boot") {
		t.Fatal("the seed must be a function of salt, subject and query")
	}
}

func TestCredit(t *testing.T) {
	for _, c := range []struct {
		clicks []Team
		want   Outcome
	}{
		{nil, NoClick},
		{[]Team{TeamB}, Win},
		{[]Team{TeamA, TeamB, TeamA}, Loss},
		{[]Team{TeamA, TeamB}, Tie},
		{[]Team{TeamNone}, NoClick},
	} {
		if got := Credit(c.clicks); got != c.want {
			t.Errorf("Credit(%v) = %v, want %v", c.clicks, got, c.want)
		}
	}
}

// TestInterleavingFindsTheBetterRanker simulates position-biased users who click by
// relevance: one ranker orders by the true relevance plus a little noise, the other
// by a much noisier estimate. Interleaving must credit the better ranker, whichever
// team it plays, and must call two equal rankers a draw.
func TestInterleavingFindsTheBetterRanker(t *testing.T) {
	run := func(noiseA, noiseB float64, seed uint64) (wins, losses int) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var out []int
		var teams []Team
		var used []bool
		for q := 0; q < 3000; q++ {
			n := 30
			rel := make([]float64, n)
			for i := range rel {
				rel[i] = rng.Float64()
			}
			rankBy := func(noise float64) []int {
				score := make([]float64, n)
				for i := range score {
					score[i] = rel[i] + noise*rng.NormFloat64()
				}
				ord := rng.Perm(n)
				slices.SortStableFunc(ord, func(x, y int) int {
					if score[x] > score[y] {
						return -1
					}
					if score[x] < score[y] {
						return 1
					}
					return 0
				})
				return ord
			}
			a, b := rankBy(noiseA), rankBy(noiseB)
			out, teams, used = TeamDraft(a, b, rng.Uint64(), 10, out, teams, used)
			var clicked []Team
			for k, x := range out {
				examine := 1 / float64(k+1) // position bias
				if rng.Float64() < examine && rng.Float64() < rel[x]*rel[x] {
					clicked = append(clicked, teams[k])
				}
			}
			switch Credit(clicked) {
			case Win:
				wins++
			case Loss:
				losses++
			}
		}
		return
	}
	w, l := run(0.6, 0.05, 1) // B is better
	if p := signTestP(w, l); !(w > l && p < 0.001) {
		t.Errorf("better ranker as team B: wins %d losses %d (p %.3g)", w, l, p)
	}
	w, l = run(0.05, 0.6, 2) // A is better
	if p := signTestP(w, l); !(l > w && p < 0.001) {
		t.Errorf("better ranker as team A: wins %d losses %d (p %.3g)", w, l, p)
	}
	w, l = run(0.3, 0.3, 3) // equal
	if p := signTestP(w, l); p < 0.01 {
		t.Errorf("equal rankers: wins %d losses %d (p %.3g) should not differ", w, l, p)
	}
}

func BenchmarkTeamDraft(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, y := rng.Perm(100), rng.Perm(100)
	var out []int
	var teams []Team
	var used []bool
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		out, teams, used = TeamDraft(x, y, uint64(i), 0, out, teams, used)
	}
}

// FuzzTeamDraft checks the merge invariants on arbitrary rankings (bytes as items).
func FuzzTeamDraft(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, []byte{3, 2, 1, 0}, uint64(1), 0)
	f.Add([]byte{0, 0, 5}, []byte{7}, uint64(9), 2)
	f.Fuzz(func(t *testing.T, ab, bb []byte, seed uint64, limit int) {
		if limit > 1000 || limit < -1000 {
			return
		}
		a, b := make([]int, len(ab)), make([]int, len(bb))
		for i, x := range ab {
			a[i] = int(x)
		}
		for i, x := range bb {
			b[i] = int(x)
		}
		out, teams, _ := TeamDraft(a, b, seed, limit, nil, nil, nil)
		checkMerge(t, a, b, out, teams, limit)
	})
}
