package event

import (
	"encoding/json"
	"reflect"
	"time"
)

// Types of events accepted on the wire.
const (
	TypeTrack    = "track"
	TypeIdentify = "identify"
	TypePage     = "page"
)

// Names of the events that drive Bespoke's models (Segment E-commerce spec v2 where it has one).
const (
	ProductsSearched     = "Products Searched"
	ProductListViewed    = "Product List Viewed"
	ProductClicked       = "Product Clicked"
	ProductViewed        = "Product Viewed"
	ProductAdded         = "Product Added"
	OrderCompleted       = "Order Completed"
	ProductReturned      = "Product Returned"
	FitSurveyCompleted   = "Fit Survey Completed"
	PersonalizationOut   = "Personalization Opted Out"
	PersonalizationIn    = "Personalization Opted In"
	IdentifyName         = "identify" // lake partition name of identify events
	PageName             = "page"     // lake partition name of page events
	MaxEventBytes        = 32 << 10   // largest accepted event, as encoded on the wire
	MaxRequestBytes      = 512 << 10  // largest accepted request body after decompression
	MaxIDBytes           = 256        // largest userId / anonymousId / messageId / product id
	MaxEventNameBytes    = 200        // largest event name
	maxNestingDepth      = 32         // deepest JSON nesting accepted inside an event
	maxProductsPerList   = 1000       // impressions per Product List Viewed / products per order
	maxUsualSizesEntries = 50
)

// Return reasons accepted by Product Returned.
var ReturnReasons = []string{"too_small", "too_large", "not_as_pictured", "quality", "other"}

// Event is one event on the wire and in the stream. Properties, Traits and Context are
// kept as the raw JSON the client sent, so nothing the customer sent is lost; typed
// access to the properties Bespoke understands goes through Props.
type Event struct {
	Type        string          `json:"type"`
	Event       string          `json:"event,omitempty"`
	Name        string          `json:"name,omitempty"` // page name (page events)
	UserID      string          `json:"userId,omitempty"`
	AnonymousID string          `json:"anonymousId,omitempty"`
	MessageID   string          `json:"messageId"`
	Timestamp   time.Time       `json:"timestamp"`
	ReceivedAt  time.Time       `json:"receivedAt,omitzero"`
	Properties  json.RawMessage `json:"properties,omitempty"`
	Traits      json.RawMessage `json:"traits,omitempty"`
	Context     json.RawMessage `json:"context,omitempty"`
}

// PartitionName is the name under which the event is filed in the lake:
// the event name for track events, "identify" and "page" for the others.
func (e *Event) PartitionName() string {
	switch e.Type {
	case TypeIdentify:
		return IdentifyName
	case TypePage:
		return PageName
	}
	return e.Event
}

// ProductRef is one entry of a products array (impressions, order lines).
type ProductRef struct {
	ProductID Flex    `json:"product_id"`
	Position  int     `json:"position,omitempty"`
	Size      Flex    `json:"size,omitempty"`
	Price     float64 `json:"price,omitempty"`
	Quantity  int     `json:"quantity,omitempty"`
}

// UsualSize is one answer of a fit survey: "in brand B, category C, I wear size S".
type UsualSize struct {
	Brand    string `json:"brand"`
	Category string `json:"category"`
	Size     Flex   `json:"size"`
}

// Props are the properties Bespoke's models understand, decoded with their types.
// Fields absent from an event are zero.
type Props struct {
	Query         string         `json:"query,omitempty"`
	SearchID      string         `json:"search_id,omitempty"`
	ListID        string         `json:"list_id,omitempty"`
	Category      string         `json:"category,omitempty"`
	ProductID     Flex           `json:"product_id,omitempty"`
	Position      int            `json:"position,omitempty"`
	Size          Flex           `json:"size,omitempty"`
	CartID        string         `json:"cart_id,omitempty"`
	OrderID       Flex           `json:"order_id,omitempty"`
	Products      []ProductRef   `json:"products,omitempty"`
	Revenue       float64        `json:"revenue,omitempty"`
	Currency      string         `json:"currency,omitempty"`
	Reason        string         `json:"reason,omitempty"`
	Comment       string         `json:"comment,omitempty"`
	HeightCM      float64        `json:"height_cm,omitempty"`
	WeightKG      float64        `json:"weight_kg,omitempty"`
	Age           float64        `json:"age,omitempty"`
	ShoeSizeUS    float64        `json:"shoe_size_us,omitempty"`
	ShoeWidth     string         `json:"shoe_width,omitempty"`
	FitPreference string         `json:"fit_preference,omitempty"`
	Gender        string         `json:"gender,omitempty"`
	UsualSizes    []UsualSize    `json:"usual_sizes,omitempty"`
	Filters       map[string]any `json:"filters,omitempty"`
	Arm           string         `json:"arm,omitempty"` // experiment arm recorded by the storefront/SDK
}

// Props decodes the properties of the event. Events that passed Validate always decode.
func (e *Event) Props() (Props, error) {
	var p Props
	if len(e.Properties) == 0 {
		return p, nil
	}
	if fastProps(e.Properties, &p) {
		return p, nil
	}
	p = Props{}
	err := json.Unmarshal(e.Properties, &p)
	return p, err
}

// Flex is a string that also accepts a JSON number on input (ids and sizes are
// sent as either by real SDKs: "9.5" and 9.5 mean the same size). It is always
// written back as a JSON string.
type Flex string

// UnmarshalJSON accepts a JSON string or number.
func (f *Flex) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = Flex(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		kind := "value"
		switch b[0] {
		case '{':
			kind = "object"
		case '[':
			kind = "array"
		case 't', 'f':
			kind = "bool"
		}
		return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[Flex]()}
	}
	*f = Flex(n.String())
	return nil
}
