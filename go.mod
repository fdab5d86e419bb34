module github.com/writebackhq/writeback

go 1.26.0

require golang.org/x/oauth2 v0.38.0

require (
	github.com/evanphx/json-patch/v5 v5.9.11 // indirect
	github.com/stretchr/testify v1.11.1 // indirect
	go.yaml.in/yaml/v3 v3.0.4 // indirect
)
