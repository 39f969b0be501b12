// Package deps pins the project's chosen modules until the packages that use them land.
// Delete this file once every import below has a real user.
package deps

import (
	_ "github.com/Ullaakut/nmap/v3"
	_ "github.com/caarlos0/env/v11"
	_ "github.com/coder/websocket"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/getkin/kin-openapi/openapi3"
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/getkin/kin-openapi/routers/gorillamux"
	_ "github.com/lmittmann/tint"
	_ "github.com/luthermonson/go-proxmox"
	_ "github.com/mark3labs/mcp-go/client"
	_ "github.com/mark3labs/mcp-go/mcp"
	_ "github.com/mark3labs/mcp-go/server"
	_ "github.com/netbox-community/go-netbox/v4"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "golang.org/x/time/rate"
	_ "gopkg.in/yaml.v3"
)
