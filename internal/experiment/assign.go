package experiment

import "hash/fnv"

// Arm names.
const (
	Control      = "control"      // the non-personalized ranking (what an anonymous visitor gets)
	Personalized = "personalized" // the personalized ensemble
)

// Split assigns subjects to arms: Treatment is the share (0..1) in the personalized arm.
type Split struct {
	Treatment float64
	Salt      string // change it to re-randomize
}

// Arm is the arm of a subject (a customer id, or an anonymous id when there is none).
// The same subject always gets the same arm for a given split and salt.
func (s Split) Arm(subject string) string {
	if subject == "" || s.Treatment <= 0 {
		return Control
	}
	if s.Treatment >= 1 {
		return Personalized
	}
	h := fnv.New64a()
	h.Write([]byte(s.Salt))
	h.Write([]byte{0})
	h.Write([]byte(subject))
	if float64(h.Sum64()%1_000_000)/1_000_000 < s.Treatment {
		return Personalized
	}
	return Control
}
