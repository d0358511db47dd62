package event

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// An envelope is the unit written to the stream: the events of one or more accepted
// requests, one JSON object per line (each with its receivedAt). Packing many events
// into one durable write is what lets ingestion acknowledge tens of thousands of
// events per second with a sync per write (group commit).

// AppendEnvelope appends the events to an envelope under construction in buf.
func AppendEnvelope(buf []byte, events []Event) ([]byte, error) {
	w := bytes.NewBuffer(buf)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range events {
		if err := enc.Encode(&events[i]); err != nil { // Encode writes a trailing newline
			return buf, fmt.Errorf("cannot encode event %q: %w", events[i].MessageID, err)
		}
	}
	return w.Bytes(), nil
}

// DecodeEnvelope calls fn for each event of an envelope, in order. A line that does not
// decode is passed to fn as a nil event with the error, so callers can dead-letter it
// instead of losing it; decoding goes on with the next line.
func DecodeEnvelope(data []byte, fn func(ev *Event, line []byte, err error) error) error {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			if ferr := fn(nil, line, fmt.Errorf("cannot decode event from stream: %w", err)); ferr != nil {
				return ferr
			}
			continue
		}
		if err := fn(&ev, line, nil); err != nil {
			return err
		}
	}
	return nil
}
