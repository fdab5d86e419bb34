package opspage_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/opspage"
	"github.com/writebackhq/writeback/store/memstore"
)

// requireAdmin stands for the app's own authentication middleware.
func requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Admin") != "yes" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Mount the ops page under /writeback/, behind the app's authentication.
func ExampleNew() {
	w, err := writeback.NewWriter(&writeback.Config{Store: memstore.New()}) // the app's Writer
	if err != nil {
		panic(err)
	}
	h, err := opspage.New(w, &opspage.Options{Title: "Acme writes"})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/writeback/", requireAdmin(http.StripPrefix("/writeback", h)))

	for _, admin := range []string{"no", "yes"} {
		req := httptest.NewRequest(http.MethodGet, "/writeback/operations", nil)
		req.Header.Set("X-Admin", admin)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// 403 text/plain; charset=utf-8
	// 200 text/html; charset=utf-8
}
