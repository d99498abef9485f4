// A minimal blocking HTTP/1.1 client for the server tests, and a handle on a
// running `recsys serve` (started on port 0; the port is read from its log).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <cstdlib>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

namespace recsys::test {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class Connection {
 public:
  // `source`: a local address to connect from (e.g. "127.0.0.2"), else any.
  explicit Connection(int port, const char* source = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &local.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        ::close(fd_);
        throw std::runtime_error(std::string("cannot bind to ") + source);
      }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("cannot connect to port " + std::to_string(port));
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void send(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      done += static_cast<std::size_t>(n);
    }
  }
  // Sends, ignoring a reset by the peer (for requests the server may refuse mid-way).
  bool try_send(const std::string& data) {
    try {
      send(data);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

  // How long a response may take: 5 s, or 30 s in the sanitizer builds
  // (RECSYS_SANITIZED), where the server and the commands beside it (whose write
  // transactions the events writer waits for) run several times slower.
  static std::chrono::milliseconds response_timeout() {
    return std::chrono::milliseconds(std::getenv("RECSYS_SANITIZED") ? 30000 : 5000);
  }

  // Reads one response; throws on EOF before a complete response or after `timeout`.
  HttpResponse read_response(std::chrono::milliseconds timeout = response_timeout(), bool is_head = false) {
    HttpResponse r;
    std::size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) fill(timeout);
    std::string head = buf_.substr(0, header_end);
    buf_.erase(0, header_end + 4);
    std::size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    r.status = std::stoi(status_line.substr(9, 3));
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
      pos = e + 2;
    }
    std::size_t length = r.headers.count("content-length") && !is_head ? std::stoul(r.headers["content-length"]) : 0;
    while (buf_.size() < length) fill(timeout);
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  HttpResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::string& extra_headers = "") {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers;
    if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "\r\n" + body;
    send(req);
    return read_response(response_timeout(), method == "HEAD");
  }
  HttpResponse get(const std::string& target) { return request("GET", target); }
  int fd() const { return fd_; }

  // True when the server closed the connection (EOF) within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    try {
      while (true) fill(timeout);
    } catch (const std::runtime_error& e) {
      return std::string(e.what()) == "eof";
    }
  }

 private:
  void fill(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) throw std::runtime_error("timeout");
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) throw std::runtime_error("eof");
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
  int fd_ = -1;
  std::string buf_;
};

// The port a starting `recsys serve --port 0` logs ("listening on ADDRESS:PORT").
inline int wait_for_port(const Process& process) {
  std::regex listening("listening on [0-9.]+:([0-9]+)");
  for (int i = 0; i < 500; ++i) {
    std::smatch m;
    std::string err = process.current_stderr();
    if (std::regex_search(err, m, listening)) return std::stoi(m[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("the server did not start: " + process.current_stderr());
}

// `recsys serve` on a free loopback port; SIGTERM and wait on destruction.
// `wrapper` runs it through another command (e.g. prlimit --nofile=N:N).
class Server {
 public:
  // `extra`: options of serve; `global`: options before the subcommand.
  Server(const TempDir& dir, const std::string& db, std::vector<std::string> extra = {},
         std::vector<std::string> wrapper = {}, const std::vector<std::string>& global = {}) {
    std::vector<std::string> argv = wrapper;
    argv.insert(argv.end(), {recsys_bin(), "--db", db});
    argv.insert(argv.end(), global.begin(), global.end());
    argv.insert(argv.end(), {"serve", "--port", "0"});
    if (std::find(extra.begin(), extra.end(), "--threads") == extra.end()) extra.insert(extra.end(), {"--threads", "2"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Process>(argv, dir.path());
    std::regex listening("listening on [0-9.]+:([0-9]+)");
    for (int i = 0; i < 500; ++i) {
      std::smatch m;
      std::string err = process_->current_stderr();
      if (std::regex_search(err, m, listening)) {
        port_ = std::stoi(m[1]);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("the server did not start: " + process_->current_stderr());
  }
  ~Server() {
    // Not when a test already waited for the exit (pid -1: waitpid would take any child).
    if (process_ && process_->pid() > 0) process_->signal_and_wait(SIGTERM);
  }
  int port() const { return port_; }
  Process& process() { return *process_; }
  // SIGTERM and wait: the exit status and the log.
  RunResult stop() {
    auto r = process_->signal_and_wait(SIGTERM);
    process_.reset();
    return r;
  }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

}  // namespace recsys::test
