#include "tools/weft/serve.h"

#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "distributed/server.h"
#include "graph/file_io.h"

ABSL_DECLARE_FLAG(std::vector<std::string>, devices);  // tools/weft/cli.cc
ABSL_DECLARE_FLAG(int, threads);                       // tools/weft/cli.cc
ABSL_FLAG(std::string, listen, "",
          "serve: HOST:PORT to listen on (port 0: any free port)");
ABSL_FLAG(std::string, port_file, "",
          "serve: write the bound port to this file once listening");
ABSL_FLAG(std::string, tls_cert, "", "serve: certificate chain (PEM)");
ABSL_FLAG(std::string, tls_key, "", "serve: private key (PEM)");
ABSL_FLAG(std::string, tls_ca, "",
          "serve: CA that client certificates must chain to (mutual TLS)");

namespace weft::tools {

int RunServe(const Invocation&) {
  // Blocked here, before the server's threads start (they inherit the
  // mask), and taken by sigwait below: the stop is an orderly Shutdown on
  // this thread, not work in a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A process that only serves: keep gRPC's receive buffers on warm pages.
  ConfigureMallocForServing();

  ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  if (!absl::GetFlag(FLAGS_devices).empty()) {
    options.devices = absl::GetFlag(FLAGS_devices);
  }
  options.num_threads = absl::GetFlag(FLAGS_threads);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls.ca_file = absl::GetFlag(FLAGS_tls_ca);
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Create(options);
  if (!server.ok()) {
    std::fprintf(stderr, "weft serve: %s: %s\n",
                 absl::StatusCodeToString(server.status().code()).c_str(),
                 std::string(server.status().message()).c_str());
    return 1;
  }
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty()) {
    absl::Status s = internal::WriteFileAtomically(
        port_file, absl::StrCat((*server)->port(), "\n"));
    if (!s.ok()) {
      std::fprintf(stderr, "weft serve: %s\n",
                   std::string(s.message()).c_str());
      return 1;
    }
  }
  std::printf("weft serve: listening on %s (incarnation %016llx, devices %s)\n",
              (*server)->address().c_str(),
              static_cast<unsigned long long>((*server)->incarnation()),
              absl::StrJoin(options.devices, ",").c_str());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::printf("weft serve: %s: stopping (steps in flight get 5 s)\n",
              signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stdout);
  (*server)->Shutdown(absl::Seconds(5));
  std::printf("weft serve: stopped\n");
  return 0;
}

}  // namespace weft::tools
