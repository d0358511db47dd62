package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// envName is the environment variable that sets flag name: BESPOKE_ and the name in upper case
// with dashes as underscores (--search-deadline ↔ BESPOKE_SEARCH_DEADLINE).
func envName(flagName string) string {
	return "BESPOKE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyConfigFile sets flags of fs from the JSON object in path, whose keys are flag names
// ({"addr": ":9090", "search-deadline": "15ms", "split-treatment": 0.5}). A value given on the
// command line or by the flag's environment variable wins over the file, so the precedence is
// command line > environment > file > built-in default. Unknown keys and values that are not
// strings, numbers or booleans are errors naming the key: a typo must not be ignored silently.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: cannot read %q: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var values map[string]any
	if err := dec.Decode(&values); err != nil {
		return fmt.Errorf("--config %q: not a JSON object of flag names to values: %v", path, err)
	}
	if dec.More() {
		return fmt.Errorf("--config %q: trailing data after the JSON object", path)
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		if k == "config" || fs.Lookup(k) == nil {
			errs = append(errs, fmt.Errorf("--config %q: unknown key %q (keys are the flag names of bespoke %s --help)", path, k, strings.TrimPrefix(fs.Name(), "bespoke ")))
			continue
		}
		var s string
		switch v := values[k].(type) {
		case string:
			s = v
		case json.Number:
			s = v.String()
		case bool:
			s = strconv.FormatBool(v)
		default:
			errs = append(errs, fmt.Errorf("--config %q: key %q: value must be a string, number or boolean", path, k))
			continue
		}
		if onCommandLine[k] || os.Getenv(envName(k)) != "" {
			continue
		}
		if err := fs.Set(k, s); err != nil {
			errs = append(errs, fmt.Errorf("--config %q: key %q: %v", path, k, err))
		}
	}
	return errors.Join(errs...)
}
