package size

import (
	"testing"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

func TestStepFrom(t *testing.T) {
	shoe := &catalog.Product{ProductID: "s", SizeSystem: catalog.SizeUSShoe, Gender: "men",
		Sizes: []catalog.Size{{Size: "9"}, {Size: "9.5"}, {Size: "10"}, {Size: "10.5"}}}
	big := &catalog.Product{ProductID: "b", SizeSystem: catalog.SizeUSShoe, Gender: "men",
		Sizes: []catalog.Size{{Size: "11.5"}, {Size: "12"}, {Size: "13"}, {Size: "14"}}}
	shirt := &catalog.Product{ProductID: "t", SizeSystem: catalog.SizeAlpha, Sizes: []catalog.Size{{Size: "S"}, {Size: "M"}, {Size: "L"}}}
	for _, c := range []struct {
		p     *catalog.Product
		from  string
		steps int
		want  string
	}{
		{shoe, "9.5", 1, "10"},    // one step of a US shoe size is half a size
		{shoe, "9.5", -1, "9"},    //
		{shoe, "10", 2, "10.5"},   // past the product's largest size: its largest (as the simulator's shoppers do)
		{shoe, "9", 0, "9"},       //
		{shoe, "nine", 1, "nine"}, // a label that does not parse is left as it is
		{big, "12", 1, "13"},      // no 12.5: the first size at least a step up
		{big, "13", -1, "12"},     // and down
		{shirt, "M", 1, "L"},      // a letter
		{shirt, "S", -1, "S"},     // already the smallest
	} {
		if got := stepFrom(c.p, c.from, c.steps); got != c.want {
			t.Errorf("stepFrom(%s, %q, %d) = %q, want %q", c.p.ProductID, c.from, c.steps, got, c.want)
		}
	}
}
