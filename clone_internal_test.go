package writeback

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCloneInstallationSharesNothing fills every field of an Installation,
// clones it, changes everything reachable from the clone, and checks that
// the original did not change. A new pointer, map or slice field that
// cloneInstallation does not copy fails it.
func TestCloneInstallationSharesNothing(t *testing.T) {
	t.Parallel()
	var inst Installation
	fillAll(reflect.ValueOf(&inst).Elem(), "v")
	before, err := json.Marshal(&inst)
	require.NoError(t, err)

	cp := cloneInstallation(&inst)
	require.Equal(t, &inst, cp)
	fillAll(reflect.ValueOf(cp).Elem(), "changed")
	after, err := json.Marshal(&inst)
	require.NoError(t, err)
	require.JSONEq(t, string(before), string(after), "the clone shares memory with the original")
}

// fillAll sets every field reachable from v to a value derived from s,
// allocating pointers, maps and slices where they are nil and changing
// what they hold where they are not.
func fillAll(v reflect.Value, s string) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, len(s), 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(s != "v")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(len(s)))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(len(s)) + 0.5)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fillAll(v.Elem(), s)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillAll(v.Field(i), s)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		for i := range v.Len() {
			fillAll(v.Index(i), s)
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		keys := v.MapKeys()
		if len(keys) == 0 {
			k := reflect.New(v.Type().Key()).Elem()
			fillAll(k, "key")
			keys = append(keys, k)
		}
		for _, k := range keys {
			e := reflect.New(v.Type().Elem()).Elem()
			if old := v.MapIndex(k); old.IsValid() {
				e.Set(old)
			}
			fillAll(e, s)
			v.SetMapIndex(k, e)
		}
	default:
		panic("fillAll: unhandled kind " + v.Kind().String())
	}
}
