package experiment

import (
	"fmt"
	"hash/fnv"
	"math"
)

// Arm names.
const (
	Control      = "control"      // the non-personalized ranking (what an anonymous visitor gets)
	Personalized = "personalized" // the personalized ensemble
	// Interleaved subjects see one list merged from both rankings by team-draft
	// interleaving (TeamDraft); each item carries the team (arm) that placed it.
	Interleaved = "interleaved"
)

// Split assigns subjects to arms: Treatment is the share (0..1) in the personalized
// arm, Interleave the share (0..1) that sees control and personalized interleaved;
// the rest is control. Treatment+Interleave must not exceed 1.
type Split struct {
	Treatment  float64
	Interleave float64
	Salt       string // change it to re-randomize
}

// Validate says what is wrong with a split, naming the field.
func (s Split) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"treatment", s.Treatment}, {"interleave", s.Interleave}} {
		if math.IsNaN(f.v) || f.v < 0 || f.v > 1 {
			return fmt.Errorf("%s share %v must be between 0 and 1", f.name, f.v)
		}
	}
	if s.Treatment+s.Interleave > 1+1e-9 {
		return fmt.Errorf("treatment %v + interleave %v shares exceed 1", s.Treatment, s.Interleave)
	}
	return nil
}

// Arm is the arm of a subject (a customer id, or an anonymous id when there is none).
// The same subject always gets the same arm for a given split and salt. The subject's
// hash u in [0,1) puts it in personalized when u < Treatment, in interleaved when
// u ≥ 1−Interleave, else in control: adding an interleaving share moves subjects out
// of control only, and never changes who is personalized.
func (s Split) Arm(subject string) string {
	if subject == "" || s.Treatment <= 0 && s.Interleave <= 0 {
		return Control
	}
	if s.Treatment >= 1 {
		return Personalized
	}
	h := fnv.New64a()
	h.Write([]byte(s.Salt))
	h.Write([]byte{0})
	h.Write([]byte(subject))
	u := float64(h.Sum64()%1_000_000) / 1_000_000
	switch {
	case u < s.Treatment:
		return Personalized
	case u >= 1-s.Interleave:
		return Interleaved
	}
	return Control
}
