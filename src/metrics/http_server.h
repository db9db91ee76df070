// The /metrics endpoint: a deliberately small HTTP/1.1 server on one thread.
// One connection at a time, one request per connection (Connection: close),
// the request bounded in size (8 KiB) and time (2 s to arrive, 2 s to send
// the reply), so a stuck or hostile client delays a scrape but can neither
// pile up threads nor memory. GET and HEAD of /metrics only.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "metrics/listen_address.h"
#include "util/unique_fd.h"

namespace cmkfs::metrics {

class HttpServer {
public:
    // The body of GET /metrics, produced on the server's thread per request.
    using Producer = std::function<std::string()>;

    // Binds and listens (throws SystemError naming the address), then serves
    // on its own thread until destroyed. A unix socket is created 0600 (the
    // daemon's user only); an existing file there is replaced only if it is
    // a socket.
    HttpServer(const ListenAddress &address, Producer producer);
    ~HttpServer();
    HttpServer(const HttpServer &) = delete;
    HttpServer &operator=(const HttpServer &) = delete;

    // What it listens on, with the port the kernel chose for port 0.
    const std::string &address() const { return bound_; }

private:
    void serve();
    void handle(int client);

    Producer producer_;
    std::string unix_path_;
    std::string bound_;
    UniqueFd listener_;
    UniqueFd stop_read_, stop_write_;
    std::thread thread_;
};

}  // namespace cmkfs::metrics
