package zk

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// NumAttrs is the number of attribute slots in a core credential.
const NumAttrs = 16

// Kind says how an attribute is normalized to a field element.
type Kind int

// Attribute kinds. Dates and integers are comparable (<=, >=); strings are
// hashed and support only =, != and in-set.
const (
	KindDate    Kind = iota + 1 // days since 1970-01-01, may be negative
	KindCountry                 // ISO 3166-1 numeric code
	KindString                  // H(TagString, UTF-8 bytes)
	KindInt                     // signed 64-bit integer
)

// Attr describes one slot of the published attribute schema.
type Attr struct {
	Index int
	Name  string
	Kind  Kind
}

// Schema is the published attribute schema: slot, name and encoding of
// every attribute a core credential can carry. A slot the source did not
// provide holds Absent.
var Schema = []Attr{
	{0, "birth_date", KindDate},
	{1, "nationality", KindCountry},
	{2, "residence_country", KindCountry},
	{3, "family_name", KindString},
	{4, "given_name", KindString},
	{5, "postal_code", KindString},
	{6, "locality", KindString},
	{7, "email", KindString},
	{8, "source_kind", KindInt},
	{9, "enrolled_on", KindDate},
}

// AttrByName returns the schema entry for name.
func AttrByName(name string) (Attr, bool) {
	for _, a := range Schema {
		if a.Name == name {
			return a, true
		}
	}
	return Attr{}, false
}

// Absent is the value of an attribute the source did not provide: 2^64,
// outside the comparable range, so that no <= or >= predicate can hold on
// it (a zero would read as 1970-01-01 and prove any age), and equal to no
// encoded value.
var Absent = func() fr.Element {
	var e fr.Element
	e.SetUint64(1 << 63)
	e.Double(&e)
	return e
}()

// Comparable values lie in [-2^63, 2^63): the circuit adds 2^63 and checks
// 64 bits, so no comparison can wrap around the field.
const comparableBits = 64

// Encode normalizes a textual attribute value to its field element: dates
// as YYYY-MM-DD, countries as ISO 3166-1 numeric or a known alpha-2 code,
// integers in decimal, strings as they are (NFC is the issuer's duty).
func (a Attr) Encode(v string) (fr.Element, error) {
	switch a.Kind {
	case KindDate:
		d, err := ParseDate(v)
		if err != nil {
			return fr.Element{}, fmt.Errorf("zk: attribute %s: %w", a.Name, err)
		}
		return Int64(d), nil
	case KindCountry:
		n, err := CountryCode(v)
		if err != nil {
			return fr.Element{}, fmt.Errorf("zk: attribute %s: %w", a.Name, err)
		}
		return Int64(int64(n)), nil
	case KindInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fr.Element{}, fmt.Errorf("zk: attribute %s: not an integer", a.Name)
		}
		return Int64(n), nil
	case KindString:
		return HashBytes(TagString, []byte(v)), nil
	}
	return fr.Element{}, fmt.Errorf("zk: attribute %s: unknown kind", a.Name)
}

// Comparable reports whether <= and >= make sense for the attribute.
func (a Attr) Comparable() bool { return a.Kind != KindString }

// ParseDate returns days since 1970-01-01 for a YYYY-MM-DD date.
func ParseDate(s string) (int64, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return Days(t), nil
}

// Days returns the days since 1970-01-01 of t's UTC date.
func Days(t time.Time) int64 {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return d.Unix() / 86400
}

// Countries maps the ISO 3166-1 alpha-2 codes Mustard's samples use to their
// numeric codes; numeric codes are always accepted.
var Countries = map[string]int{
	"AT": 40, "BE": 56, "CH": 756, "DE": 276, "DK": 208, "ES": 724, "FI": 246,
	"FR": 250, "GB": 826, "IE": 372, "IT": 380, "LU": 442, "NL": 528, "NO": 578,
	"PL": 616, "PT": 620, "SE": 752, "US": 840, "CA": 124, "JP": 392,
}

// CountryCode returns the ISO 3166-1 numeric code for an alpha-2 or numeric code.
func CountryCode(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 1000 {
		return n, nil
	}
	if n, ok := Countries[strings.ToUpper(s)]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("country %q is neither ISO 3166-1 numeric nor a known alpha-2 code", s)
}

// Grades of assurance, as eIDAS levels.
const (
	GradeLow         = 1
	GradeSubstantial = 2
	GradeHigh        = 3
)

// ParseGrade maps a grade name to its number.
func ParseGrade(s string) (uint64, error) {
	switch s {
	case "low":
		return GradeLow, nil
	case "substantial":
		return GradeSubstantial, nil
	case "high":
		return GradeHigh, nil
	}
	return 0, fmt.Errorf("grade %q is not low, substantial or high", s)
}

// GradeName returns the name of grade g.
func GradeName(g uint64) string {
	switch g {
	case GradeLow:
		return "low"
	case GradeSubstantial:
		return "substantial"
	case GradeHigh:
		return "high"
	}
	return "unknown"
}
