package opspage

import (
	"cmp"
	"maps"
	"net/http"
	"slices"

	"github.com/writebackhq/writeback"
)

// installationsView is the installations list's data.
type installationsView struct {
	Installations []installationRow
	// Integration is the filter given, if any.
	Integration string
}

// installationRow is one installation in the list.
type installationRow struct {
	*writeback.Installation
	// Objects are its write objects, sorted.
	Objects []string
}

// installations is GET /installations: every installation, or an
// integration's.
func (h *Handler) installations(w http.ResponseWriter, r *http.Request) {
	v := &installationsView{Integration: r.URL.Query().Get("integration")}
	insts, err := h.w.Installations(r.Context(), v.Integration)
	if err != nil {
		h.storeFailed(w, r, "installations", err)
		return
	}
	for _, inst := range insts {
		v.Installations = append(v.Installations, installationRow{Installation: inst, Objects: slices.Sorted(maps.Keys(inst.Config.Write.Objects))})
	}
	slices.SortStableFunc(v.Installations, func(a, b installationRow) int {
		return cmp.Or(cmp.Compare(a.Integration, b.Integration), cmp.Compare(a.GroupRef, b.GroupRef))
	})
	h.render(w, r, http.StatusOK, "installations", "Installations", v)
}

// installationView is an installation's page data.
type installationView struct {
	Inst    *writeback.Installation
	Objects []objectView
	// Reads lists the read objects with field mappings, which write
	// objects with inheritMapping use.
	Reads []readView
}

// objectView is one write object's settings.
type objectView struct {
	Name string
	writeback.WriteObject
	// Fields are its field settings, by field name.
	Fields []fieldView
}

// fieldView is one field's settings; MapsTo is the provider field the
// read mapping of the same object names, if any.
type fieldView struct {
	Name, MapsTo string
	writeback.FieldSetting
}

// readView is one read object's field mappings.
type readView struct {
	Name     string
	Mappings []mappingView
}

// mappingView maps an app field to a provider field.
type mappingView struct{ Field, ProviderField string }

// installation is GET /installations/{id}: an installation's write
// settings.
func (h *Handler) installation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	inst, err := h.w.Installation(r.Context(), id)
	if err != nil {
		h.storeFailed(w, r, "installation "+id, err)
		return
	}
	v := &installationView{Inst: inst}
	for _, name := range slices.Sorted(maps.Keys(inst.Config.Write.Objects)) {
		obj := inst.Config.Write.Objects[name]
		ov := objectView{Name: name, WriteObject: obj}
		mapping := inst.Config.Read.Objects[name].SelectedFieldMappings
		for _, f := range slices.Sorted(maps.Keys(obj.SelectedFieldSettings)) {
			ov.Fields = append(ov.Fields, fieldView{Name: f, MapsTo: mapping[f], FieldSetting: obj.SelectedFieldSettings[f]})
		}
		v.Objects = append(v.Objects, ov)
	}
	for _, name := range slices.Sorted(maps.Keys(inst.Config.Read.Objects)) {
		m := inst.Config.Read.Objects[name].SelectedFieldMappings
		if len(m) == 0 {
			continue
		}
		rv := readView{Name: name}
		for _, f := range slices.Sorted(maps.Keys(m)) {
			rv.Mappings = append(rv.Mappings, mappingView{f, m[f]})
		}
		v.Reads = append(v.Reads, rv)
	}
	h.render(w, r, http.StatusOK, "installation", "Installation "+inst.GroupRef, v)
}
