package experiment

import (
	"hash/fnv"
	"math/bits"
)

// Team says which ranker contributed an item of an interleaved list.
type Team uint8

const (
	TeamNone Team = iota // not an interleaved slot
	TeamA                // the first ranking (control)
	TeamB                // the second ranking (personalized)
)

// Name is the team's name on the wire: the arm whose ranker picked the item.
func (t Team) Name() string {
	switch t {
	case TeamA:
		return Control
	case TeamB:
		return Personalized
	}
	return ""
}

// TeamOf parses a team name written by Name; anything else is TeamNone.
func TeamOf(name string) Team {
	switch name {
	case Control:
		return TeamA
	case Personalized:
		return TeamB
	}
	return TeamNone
}

// InterleaveSeed is the seed of a subject's interleaved list for a query, so the same
// customer repeating a search sees the same list (Chapelle et al. 2012 fix the
// randomization per query and user for the same reason: a list that changes on reload
// looks broken and adds noise).
func InterleaveSeed(salt, subject, query string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(subject))
	h.Write([]byte{0})
	h.Write([]byte(query))
	return h.Sum64()
}

// TeamDraft merges two rankings (best first) by team-draft interleaving (Radlinski,
// Kurup and Joachims 2008): in each round a coin decides which team picks first, then
// each team in turn adds its highest-ranked item that is not yet in the list. It
// returns at most limit items (limit ≤ 0: all) with the team of each.
//
// Items are non-negative indexes (the candidate rows of a search); an item that is
// already in the list is skipped, so the result has no duplicates even if an input
// has. When one ranking runs out the other fills the rest. The coin is a pure function
// of seed and round: the same inputs and seed give the same list.
//
// out and teams are reused when they have the capacity (the search hot path passes
// pooled buffers); used is scratch of any length, grown as needed.
func TeamDraft(a, b []int, seed uint64, limit int, out []int, teams []Team, used []bool) ([]int, []Team, []bool) {
	n := 0
	for _, x := range a {
		n = max(n, x+1)
	}
	for _, x := range b {
		n = max(n, x+1)
	}
	if cap(used) < n {
		used = make([]bool, n)
	}
	used = used[:n]
	clear(used)
	if limit <= 0 || limit > len(a)+len(b) {
		limit = len(a) + len(b)
	}
	out, teams = out[:0], teams[:0]
	var ia, ib, na, nb int
	for len(out) < limit {
		for ia < len(a) && (a[ia] < 0 || used[a[ia]]) {
			ia++
		}
		for ib < len(b) && (b[ib] < 0 || used[b[ib]]) {
			ib++
		}
		if ia == len(a) && ib == len(b) {
			break
		}
		pickA := na < nb || (na == nb && coin(seed, na))
		if ia == len(a) {
			pickA = false
		} else if ib == len(b) {
			pickA = true
		}
		if pickA {
			used[a[ia]] = true
			out, teams = append(out, a[ia]), append(teams, TeamA)
			na++
		} else {
			used[b[ib]] = true
			out, teams = append(out, b[ib]), append(teams, TeamB)
			nb++
		}
	}
	return out, teams, used
}

// coin is the fair coin of round r: true when team A picks first.
func coin(seed uint64, r int) bool {
	// splitmix64 of (seed, round): well mixed even for consecutive seeds.
	z := seed + uint64(r+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return bits.OnesCount64(z)&1 == 0
}

// Outcome is the result of one interleaved impression for team B (personalized).
type Outcome int8

const (
	NoClick Outcome = iota // nothing clicked: no preference expressed
	Loss                   // more clicks on team A's items
	Tie                    // clicks, equally many per team
	Win                    // more clicks on team B's items
)

// Credit scores one interleaved impression: each click credits the team that placed
// the clicked item (team-draft credit, Radlinski et al. 2008), and the team with more
// credited clicks wins the impression.
func Credit(clickedTeams []Team) Outcome {
	var ca, cb int
	for _, t := range clickedTeams {
		switch t {
		case TeamA:
			ca++
		case TeamB:
			cb++
		}
	}
	switch {
	case ca+cb == 0:
		return NoClick
	case cb > ca:
		return Win
	case ca > cb:
		return Loss
	}
	return Tie
}
