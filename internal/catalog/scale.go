package catalog

import (
	"strconv"
	"strings"
)

// System codes: a size system as one byte, for compact encodings (0 is "none").
const (
	SystemNone    uint8 = 0
	SystemUSShoe  uint8 = 1
	SystemAlpha   uint8 = 2
	SystemNumeric uint8 = 3
)

// SystemCode is the code of a size system name.
func SystemCode(system string) uint8 {
	switch system {
	case SizeUSShoe:
		return SystemUSShoe
	case SizeAlpha:
		return SystemAlpha
	case SizeNumeric:
		return SystemNumeric
	}
	return SystemNone
}

// SizeValue places a size label on its system's numeric scale: US shoe sizes as
// numbers (a width letter after the number is ignored: "9.5W" is 9.5), alpha sizes
// as their index in AlphaSizes (XXS = 0 … XXXL = 7), numeric waist sizes as numbers.
func SizeValue(system uint8, label string) (float32, bool) {
	switch system {
	case SystemAlpha:
		i := AlphaIndex(label)
		if i < 0 {
			return 0, false
		}
		return float32(i), true
	case SystemUSShoe, SystemNumeric:
		label = strings.TrimRight(strings.TrimSpace(label), "NMWnmw ")
		f, err := strconv.ParseFloat(label, 32)
		if err != nil || f <= 0 || f > 100 {
			return 0, false
		}
		return float32(f), true
	}
	return 0, false
}
