// A tiny HTTP endpoint for operators and Prometheus: GET /health, GET /metrics.
// Anything else is 404/405; malformed requests close the connection. Runs on
// its own thread; Stop() ends it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "ghostlog/log/status.h"

namespace ghostlog::cli {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const std::string& target)>;
  // `listen` is "host:port" (port 0 picks a free one).
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& listen, Handler handler);
  ~HttpServer();
  int port() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ghostlog::cli
