// Mutual TLS between a client Session and a weft::Server, with
// certificates made by `openssl` for this test: a step runs over mutual
// TLS; a client without a certificate, or trusting another CA, is refused;
// a TLS server may listen on a non-loopback address.
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "distributed/server.h"
#include "gmock/gmock.h"
#include "graph/ops.h"
#include "graph/scopes.h"
#include "gtest/gtest.h"
#include "runtime/session.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

// A CA, and a server and a client certificate it signed, in `dir`.
bool MakeCertificates(const std::string& dir, const std::string& ca_name) {
  {
    std::ofstream ext(dir + "/ext.cnf");
    ext << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
  }
  const std::string q = " 2>/dev/null";
  const std::string cmds[] = {
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir +
          "/ca.key -out " + dir + "/ca.pem -days 1 -subj /CN=" + ca_name + q,
      "openssl req -newkey rsa:2048 -nodes -keyout " + dir +
          "/server.key -out " + dir + "/server.csr -subj /CN=localhost" + q,
      "openssl x509 -req -in " + dir + "/server.csr -CA " + dir +
          "/ca.pem -CAkey " + dir + "/ca.key -CAcreateserial -out " + dir +
          "/server.pem -days 1 -extfile " + dir + "/ext.cnf" + q,
      "openssl req -newkey rsa:2048 -nodes -keyout " + dir +
          "/client.key -out " + dir + "/client.csr -subj /CN=weft-client" + q,
      "openssl x509 -req -in " + dir + "/client.csr -CA " + dir +
          "/ca.pem -CAkey " + dir + "/ca.key -CAcreateserial -out " + dir +
          "/client.pem -days 1" + q,
  };
  for (const std::string& c : cmds) {
    if (std::system(c.c_str()) != 0) return false;
  }
  return true;
}

class Tls : public ::testing::Test {
 protected:
  // Made once for the suite (RSA key generation takes a while).
  static void SetUpTestSuite() {
    made_ = std::system(("mkdir -p " + dir_ + " " + other_).c_str()) == 0 &&
            MakeCertificates(dir_, "weft-test-ca") &&
            MakeCertificates(other_, "another-ca");
  }
  void SetUp() override { ASSERT_TRUE(made_) << "openssl failed"; }
  ServerOptions MutualTls() const {
    ServerOptions o;
    o.tls.cert_file = dir_ + "/server.pem";
    o.tls.key_file = dir_ + "/server.key";
    o.tls.ca_file = dir_ + "/ca.pem";
    return o;
  }
  static inline const std::string dir_ = ::testing::TempDir() + "/tls";
  static inline const std::string other_ = ::testing::TempDir() + "/tls_other";
  static inline bool made_ = false;
};

struct OneRemoteNode {
  Graph g = Graph::Create("g");
  Tensor x, y;
  OneRemoteNode() {
    GraphScope scope(g);
    x = ops::Placeholder(DType::kFloat32, Shape{3}, {.name = "x"});
    y = ops::Neg(x, {.name = "y", .device = "/job:worker/task:0/cpu:0"});
  }
};

// A client's TLS files: the CA, and its own certificate and key ("": none).
ClusterTls ClientTls(const std::string& ca, const std::string& cert = "",
                     const std::string& key = "") {
  ClusterTls tls;
  tls.ca_file = ca;
  tls.cert_file = cert;
  tls.key_file = key;
  return tls;
}

absl::Status RunOnce(const std::string& address, const ClusterTls& tls) {
  OneRemoteNode m;
  SessionOptions o;
  o.cluster = *ClusterSpec::Create({{"worker", {address}}});
  o.cluster_tls = tls;
  auto session = Session::Create(m.g, o);
  if (!session.ok()) return session.status();
  auto r = (*session)->Run({{m.x, NDArray::Vector<float>({1, 2, 3})}}, {m.y},
                           {.timeout = absl::Seconds(10)});
  if (!r.ok()) return r.status();
  if ((*r)[0].values<float>()[2] != -3) return absl::InternalError("wrong");
  return absl::OkStatus();
}

TEST_F(Tls, AStepRunsOverMutualTls) {
  auto server = Server::Create(MutualTls());
  ASSERT_TRUE(server.ok()) << server.status();
  absl::Status s = RunOnce(
      (*server)->address(),
      ClientTls(dir_ + "/ca.pem", dir_ + "/client.pem", dir_ + "/client.key"));
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(Tls, AClientWithoutACertificateIsRefused) {
  auto server = Server::Create(MutualTls());
  ASSERT_TRUE(server.ok()) << server.status();
  absl::Status s = RunOnce((*server)->address(), ClientTls(dir_ + "/ca.pem"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("task /job:worker/task:0"));
}

TEST_F(Tls, AClientTrustingAnotherCaRefusesTheServer) {
  auto server = Server::Create(MutualTls());
  ASSERT_TRUE(server.ok()) << server.status();
  absl::Status s = RunOnce((*server)->address(),
                           ClientTls(other_ + "/ca.pem", other_ + "/client.pem",
                                     other_ + "/client.key"));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

TEST_F(Tls, ATlsServerMayListenOnEveryAddress) {
  ServerOptions o = MutualTls();
  o.listen = "0.0.0.0:0";
  auto server = Server::Create(o);
  EXPECT_TRUE(server.ok()) << server.status();
}

TEST_F(Tls, AMissingCertificateFileIsAnErrorNamingIt) {
  ServerOptions o = MutualTls();
  o.tls.cert_file = dir_ + "/nope.pem";
  auto server = Server::Create(o);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr("nope.pem"));
}

}  // namespace
}  // namespace weft
