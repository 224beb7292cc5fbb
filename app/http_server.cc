#include "http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ghostlog::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  Handler handler;
  std::thread thread;

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // acceptor closed
      Serve(std::make_shared<tcp::socket>(std::move(socket)));
      Accept();
    });
  }

  // One request per connection keeps the server simple; scrapers reconnect.
  void Serve(std::shared_ptr<tcp::socket> socket) {
    auto buffer = std::make_shared<beast::flat_buffer>(8192);
    // A body is read (and ignored) so that e.g. a POST gets its 405; 64 KiB at most.
    auto request = std::make_shared<http::request_parser<http::string_body>>();
    request->header_limit(8192);
    request->body_limit(64 * 1024);
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::seconds(5));
    timer->async_wait([socket](beast::error_code ec) {
      if (!ec) socket->close();  // slow or silent clients do not pin a connection
    });
    http::async_read(*socket, *buffer, *request,
                     [this, socket, buffer, request, timer](beast::error_code ec, size_t) {
                       timer->cancel();
                       if (ec) return;  // garbage or a closed connection: drop it
                       const auto& req = request->get();
                       HttpResponse r;
                       if (req.method() != http::verb::get) {
                         r = {405, "text/plain; charset=utf-8", "only GET is served\n"};
                       } else {
                         r = handler(std::string(req.target()));
                       }
                       auto res = std::make_shared<http::response<http::string_body>>(
                           static_cast<http::status>(r.status), 11);
                       res->set(http::field::content_type, r.content_type);
                       res->set(http::field::connection, "close");
                       res->body() = std::move(r.body);
                       res->prepare_payload();
                       http::async_write(*socket, *res, [socket, res](beast::error_code, size_t) {
                         beast::error_code ignored;
                         socket->shutdown(tcp::socket::shutdown_both, ignored);
                       });
                     });
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen, Handler handler) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("http.listen '" + listen + "' must be HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
  }
  if (port < 0 || port > 65535) return Status::InvalidArgument("http.listen '" + listen + "' has no valid port");
  auto impl = std::make_unique<Impl>();
  impl->handler = std::move(handler);
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("http.listen '" + listen + "': '" + host + "' is not an IP address");
  tcp::endpoint ep(address, static_cast<unsigned short>(port));
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("cannot listen on " + listen + ": " + ec.message());
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  asio::post(impl_->io, [this] { impl_->acceptor.close(); });
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace ghostlog::cli
