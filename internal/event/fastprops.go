package event

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// fastProps decodes properties into p in one pass of the scanner, giving exactly what
// json.Unmarshal would, or reports false (then Props runs json.Unmarshal): escaped
// strings, case-folded or duplicate keys, nulls inside arrays, numbers that do not fit
// their field all make it give up. FuzzFastPropsMatchesJSON checks the agreement.
func fastProps(raw []byte, p *Props) bool {
	if !utf8.Valid(raw) {
		return false // json.Unmarshal would replace the bad bytes
	}
	s := &scanner{b: raw, limit: 10000}
	s.skipSpace()
	var seen uint32
	ok := s.obj(func(key []byte) bool {
		k := propKey(key)
		if k < 0 {
			if foldsToAny(key, propKeys) {
				return false
			}
			return s.skipValue()
		}
		if seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		if s.null() {
			return true // json.Unmarshal leaves the field as it is: zero
		}
		switch k {
		case 0:
			return s.str2(&p.Query)
		case 1:
			return s.str2(&p.SearchID)
		case 2:
			return s.str2(&p.ListID)
		case 3:
			return s.str2(&p.Category)
		case 4:
			return s.flex2(&p.ProductID)
		case 5:
			return s.int2(&p.Position)
		case 6:
			return s.flex2(&p.Size)
		case 7:
			return s.str2(&p.CartID)
		case 8:
			return s.flex2(&p.OrderID)
		case 9:
			return s.products(&p.Products)
		case 10:
			return s.float2(&p.Revenue)
		case 11:
			return s.str2(&p.Currency)
		case 12:
			return s.str2(&p.Reason)
		case 13:
			return s.str2(&p.Comment)
		case 14:
			return s.float2(&p.HeightCM)
		case 15:
			return s.float2(&p.WeightKG)
		case 16:
			return s.float2(&p.Age)
		case 17:
			return s.float2(&p.ShoeSizeUS)
		case 18:
			return s.str2(&p.ShoeWidth)
		case 19:
			return s.str2(&p.FitPreference)
		case 20:
			return s.str2(&p.Gender)
		case 21:
			return s.usualSizes(&p.UsualSizes)
		case 22:
			if s.peek() != '{' {
				return false
			}
			v, ok := s.value()
			return ok && json.Unmarshal(v, &p.Filters) == nil
		case 23:
			return s.str2(&p.Arm)
		}
		return false
	})
	s.skipSpace()
	return ok && s.i == len(raw)
}

var propKeys = []string{"query", "search_id", "list_id", "category", "product_id", "position", "size",
	"cart_id", "order_id", "products", "revenue", "currency", "reason", "comment", "height_cm", "weight_kg",
	"age", "shoe_size_us", "shoe_width", "fit_preference", "gender", "usual_sizes", "filters", "arm"}

func propKey(key []byte) int {
	switch string(key) {
	case "query":
		return 0
	case "search_id":
		return 1
	case "list_id":
		return 2
	case "category":
		return 3
	case "product_id":
		return 4
	case "position":
		return 5
	case "size":
		return 6
	case "cart_id":
		return 7
	case "order_id":
		return 8
	case "products":
		return 9
	case "revenue":
		return 10
	case "currency":
		return 11
	case "reason":
		return 12
	case "comment":
		return 13
	case "height_cm":
		return 14
	case "weight_kg":
		return 15
	case "age":
		return 16
	case "shoe_size_us":
		return 17
	case "shoe_width":
		return 18
	case "fit_preference":
		return 19
	case "gender":
		return 20
	case "usual_sizes":
		return 21
	case "filters":
		return 22
	case "arm":
		return 23
	}
	return -1
}

func (s *scanner) str2(dst *string) bool {
	v, ok := s.plainString()
	if ok {
		*dst = string(v)
	}
	return ok
}

func (s *scanner) flex2(dst *Flex) bool {
	v, ok := s.flex()
	if ok {
		*dst = Flex(v)
	}
	return ok
}

func (s *scanner) int2(dst *int) bool {
	c := s.peek()
	if c != '-' && (c < '0' || c > '9') {
		return false
	}
	v, ok := s.num()
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(string(v), 10, strconv.IntSize)
	if err != nil {
		return false
	}
	*dst = int(n)
	return true
}

func (s *scanner) float2(dst *float64) bool {
	c := s.peek()
	if c != '-' && (c < '0' || c > '9') {
		return false
	}
	v, ok := s.num()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return false
	}
	*dst = f
	return true
}

func (s *scanner) products(dst *[]ProductRef) bool {
	if s.peek() != '[' {
		return false
	}
	out := make([]ProductRef, 0, 4)
	ok := s.arr(func() bool {
		var pr ProductRef
		var seen uint8
		ok := s.obj(func(key []byte) bool {
			k := -1
			switch string(key) {
			case "product_id":
				k = 0
			case "position":
				k = 1
			case "size":
				k = 2
			case "price":
				k = 3
			case "quantity":
				k = 4
			}
			if k < 0 {
				if foldsToAny(key, productRefKeys) {
					return false
				}
				return s.skipValue()
			}
			if seen&(1<<k) != 0 {
				return false
			}
			seen |= 1 << k
			if s.null() {
				return true
			}
			switch k {
			case 0:
				return s.flex2(&pr.ProductID)
			case 1:
				return s.int2(&pr.Position)
			case 2:
				return s.flex2(&pr.Size)
			case 3:
				return s.float2(&pr.Price)
			default:
				return s.int2(&pr.Quantity)
			}
		})
		out = append(out, pr)
		return ok
	})
	*dst = out
	return ok
}

var productRefKeys = []string{"product_id", "position", "size", "price", "quantity"}

func (s *scanner) usualSizes(dst *[]UsualSize) bool {
	if s.peek() != '[' {
		return false
	}
	out := make([]UsualSize, 0, 2)
	ok := s.arr(func() bool {
		var u UsualSize
		var seen uint8
		ok := s.obj(func(key []byte) bool {
			k := -1
			switch string(key) {
			case "brand":
				k = 0
			case "category":
				k = 1
			case "size":
				k = 2
			}
			if k < 0 {
				if foldsToAny(key, usualSizeKeys) {
					return false
				}
				return s.skipValue()
			}
			if seen&(1<<k) != 0 {
				return false
			}
			seen |= 1 << k
			if s.null() {
				return true
			}
			switch k {
			case 0:
				return s.str2(&u.Brand)
			case 1:
				return s.str2(&u.Category)
			default:
				return s.flex2(&u.Size)
			}
		})
		out = append(out, u)
		return ok
	})
	*dst = out
	return ok
}

var usualSizeKeys = []string{"brand", "category", "size"}
