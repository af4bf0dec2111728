// Tests for DType, Shape and NDArray.

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "graph/dtype.h"
#include "graph/ndarray.h"
#include "graph/shape.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ----------------------------------------------------------------- DType --

TEST(DType, NamesAndSizes) {
  EXPECT_EQ(DTypeName(DType::kFloat32), "float32");
  EXPECT_EQ(DTypeName(DType::kFloat64), "float64");
  EXPECT_EQ(DTypeName(DType::kInt32), "int32");
  EXPECT_EQ(DTypeName(DType::kInt64), "int64");
  EXPECT_EQ(DTypeName(DType::kBool), "bool");
  EXPECT_EQ(DTypeSize(DType::kFloat32), 4u);
  EXPECT_EQ(DTypeSize(DType::kFloat64), 8u);
  EXPECT_EQ(DTypeSize(DType::kInt32), 4u);
  EXPECT_EQ(DTypeSize(DType::kInt64), 8u);
  EXPECT_EQ(DTypeSize(DType::kBool), 1u);
  EXPECT_EQ(DTypeName(DType::kUInt8), "uint8");
  EXPECT_EQ(DTypeName(DType::kInt8), "int8");
  EXPECT_EQ(DTypeName(DType::kFloat16), "float16");
  EXPECT_EQ(DTypeSize(DType::kUInt8), 1u);
  EXPECT_EQ(DTypeSize(DType::kInt8), 1u);
  EXPECT_EQ(DTypeSize(DType::kFloat16), 2u);
}

TEST(DType, InvalidValue) {
  const DType bad = static_cast<DType>(42);
  EXPECT_EQ(DTypeName(bad), "invalid");
  EXPECT_EQ(DTypeSize(bad), 0u);
  EXPECT_FALSE(IsValidDType(bad));
  EXPECT_FALSE(IsNumeric(bad));
}

TEST(DType, Classification) {
  EXPECT_TRUE(IsNumeric(DType::kFloat32));
  EXPECT_TRUE(IsNumeric(DType::kInt64));
  EXPECT_FALSE(IsNumeric(DType::kBool));
  EXPECT_TRUE(IsFloating(DType::kFloat64));
  EXPECT_FALSE(IsFloating(DType::kInt32));
  EXPECT_TRUE(IsValidDType(DType::kBool));
  for (DType d : {DType::kUInt8, DType::kInt8, DType::kFloat16}) {
    EXPECT_TRUE(IsValidDType(d));
    EXPECT_TRUE(IsStorageOnly(d));
    EXPECT_FALSE(IsNumeric(d));
    EXPECT_FALSE(IsFloating(d));
  }
  EXPECT_FALSE(IsStorageOnly(DType::kFloat32));
  EXPECT_FALSE(IsStorageOnly(DType::kBool));
}

// Every float16 bit pattern survives float16 -> float32 -> float16 (NaNs
// stay NaN with their sign); a few values by hand.
TEST(Float16, EveryBitPatternRoundTrips) {
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    const Float16 h{static_cast<uint16_t>(b)};
    const float f = Float16ToFloat(h);
    const Float16 back = FloatToFloat16(f);
    if ((b & 0x7c00) == 0x7c00 && (b & 0x3ff) != 0) {
      ASSERT_TRUE(std::isnan(f)) << b;
      ASSERT_EQ(back.bits & 0xfe00, (b & 0x8000) | 0x7e00) << b;
    } else {
      ASSERT_EQ(back.bits, b) << b;
    }
  }
  EXPECT_EQ(Float16ToFloat(Float16{0x3c00}), 1.0f);
  EXPECT_EQ(Float16ToFloat(Float16{0xc100}), -2.5f);
  EXPECT_EQ(Float16ToFloat(Float16{0x7bff}), 65504.0f);
  EXPECT_EQ(Float16ToFloat(Float16{0x0001}), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(Float16ToFloat(Float16{0xfc00})));
}

// Conversions from float32 and float64 round to nearest, ties to even, as
// GCC's _Float16 conversions do: random bit patterns of every exponent,
// the ties and overflow edges.
TEST(Float16, RoundsToNearestEvenLikeTheCompiler) {
  std::mt19937_64 rng(5);
  auto check_double = [](double d) {
    const Float16 got = DoubleToFloat16(d);
    const _Float16 want = static_cast<_Float16>(d);
    uint16_t want_bits;
    std::memcpy(&want_bits, &want, 2);
    if (std::isnan(d)) {
      ASSERT_TRUE(std::isnan(Float16ToFloat(got))) << d;
    } else {
      ASSERT_EQ(got.bits, want_bits) << std::hexfloat << d;
    }
  };
  auto check_float = [](float f) {
    const Float16 got = FloatToFloat16(f);
    const _Float16 want = static_cast<_Float16>(f);
    uint16_t want_bits;
    std::memcpy(&want_bits, &want, 2);
    if (!std::isnan(f)) {
      ASSERT_EQ(got.bits, want_bits) << std::hexfloat << f;
    }
  };
  for (int i = 0; i < 200000; ++i) {
    const uint64_t bits = rng();
    // Exponents around float16's range (2^-30 .. 2^20), any mantissa.
    const int e = static_cast<int>(bits % 51) - 30;
    const double m = 1.0 + static_cast<double>(bits >> 12) * 0x1p-52;
    const double d = std::ldexp(m, e) * ((bits & 1) ? -1 : 1);
    check_double(d);
    check_float(static_cast<float>(d));
    check_float(std::bit_cast<float>(static_cast<uint32_t>(bits >> 32)));
  }
  for (double d : {0.0, -0.0, 0x1p-25, 0x1.8p-25, 0x1p-24, 0x1.8p-24, 0x1.002p0,
                   0x1.006p0, 65504.0, 65519.99, 65520.0, 1e10, -1e300, 0x1p-14,
                   0x1.ffcp-15, 0x1.ffep-15}) {
    check_double(d);
  }
  EXPECT_EQ(DoubleToFloat16(std::numeric_limits<double>::infinity()).bits,
            0x7c00);
  EXPECT_EQ(DoubleToFloat16(-std::numeric_limits<double>::infinity()).bits,
            0xfc00);
}

TEST(DType, DTypeOfMapsCppTypes) {
  static_assert(DTypeOf<float>::value == DType::kFloat32);
  static_assert(DTypeOf<double>::value == DType::kFloat64);
  static_assert(DTypeOf<int32_t>::value == DType::kInt32);
  static_assert(DTypeOf<int64_t>::value == DType::kInt64);
  static_assert(DTypeOf<bool>::value == DType::kBool);
  static_assert(DTypeOf<uint8_t>::value == DType::kUInt8);
  static_assert(DTypeOf<int8_t>::value == DType::kInt8);
  static_assert(DTypeOf<Float16>::value == DType::kFloat16);
  static_assert(Element<float>);
  static_assert(!Element<char>);
}

// ----------------------------------------------------------------- Shape --

TEST(Shape, ScalarHasRankZeroAndOneElement) {
  Shape s;
  EXPECT_TRUE(s.IsScalar());
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.num_elements(), 1);
  EXPECT_TRUE(s.IsFullyDefined());
  EXPECT_EQ(s.DebugString(), "[]");
  EXPECT_EQ(s, Shape{});
  EXPECT_TRUE(s.Validate().ok());
}

TEST(Shape, KnownDims) {
  Shape s{2, 3};
  EXPECT_FALSE(s.IsScalar());
  EXPECT_EQ(s.rank(), 2);
  EXPECT_EQ(s.dim(0), 2);
  EXPECT_EQ(s.dim(1), 3);
  EXPECT_THAT(s.dims(), ElementsAre(2, 3));
  EXPECT_EQ(s.num_elements(), 6);
  EXPECT_EQ(s.DebugString(), "[2,3]");
  EXPECT_EQ(Shape(std::vector<int64_t>{2, 3}), s);
  EXPECT_NE((Shape{3, 2}), s);
  EXPECT_EQ((Shape{4, 0}).num_elements(), 0);
}

TEST(Shape, UnknownDims) {
  Shape s{-1, 3};
  EXPECT_FALSE(s.IsFullyDefined());
  EXPECT_EQ(s.num_elements(), -1);
  EXPECT_EQ(s.DebugString(), "[?,3]");
  EXPECT_TRUE(s.Validate().ok());
  absl::Status concrete = s.ValidateConcrete();
  EXPECT_EQ(concrete.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(concrete.message(), HasSubstr("unknown dimension"));
}

TEST(Shape, ValidateRejectsMinusTwo) {
  absl::Status s = Shape{2, -2}.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("[2,-2]"));
  EXPECT_THAT(s.message(), HasSubstr("dimension 1 is -2"));
}

TEST(Shape, ValidateRejectsOverflow) {
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  Shape s{big, 4};
  EXPECT_EQ(s.num_elements(), std::numeric_limits<int64_t>::max());
  absl::Status v = s.Validate();
  EXPECT_EQ(v.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.message(), HasSubstr("overflows"));
}

TEST(Shape, CompatibleWith) {
  EXPECT_TRUE((Shape{-1, 3}).IsCompatibleWith(Shape{5, 3}));
  EXPECT_FALSE((Shape{-1, 3}).IsCompatibleWith(Shape{5, 4}));
  EXPECT_FALSE((Shape{3}).IsCompatibleWith(Shape{3, 1}));
  EXPECT_TRUE(Shape{}.IsCompatibleWith(Shape{}));
}

// --------------------------------------------------------------- NDArray --

TEST(NDArray, MatchesASpecWithUnknownDims) {
  const NDArray a = NDArray::Uninitialized(DType::kFloat32, Shape{2, 3});
  EXPECT_TRUE(a.Matches(DType::kFloat32, Shape{2, 3}));
  EXPECT_TRUE(a.Matches(DType::kFloat32, Shape{-1, 3}));
  EXPECT_TRUE(a.Matches(DType::kFloat32, Shape{-1, -1}));
  EXPECT_FALSE(a.Matches(DType::kFloat64, Shape{2, 3}));
  EXPECT_FALSE(a.Matches(DType::kFloat32, Shape{3, 2}));
  EXPECT_FALSE(a.Matches(DType::kFloat32, Shape{6}));
  EXPECT_FALSE(a.Matches(DType::kFloat32, Shape{-1, 3, 1}));
  const NDArray scalar = NDArray::Scalar(1.0f);
  EXPECT_TRUE(scalar.Matches(DType::kFloat32, Shape{}));
  EXPECT_FALSE(scalar.Matches(DType::kFloat32, Shape{1}));
  EXPECT_FALSE(NDArray().Matches(DType::kFloat32, Shape{}));
}

TEST(NDArray, MovedFromIsEmpty) {
  NDArray a = NDArray::Vector<int32_t>({1, 2, 3});
  NDArray b = std::move(a);
  // NOLINTBEGIN(bugprone-use-after-move): the moved-from state is the test.
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(a.num_elements(), 0);
  EXPECT_EQ(a.raw_data(), nullptr);
  EXPECT_EQ(a.shape(), Shape{});
  EXPECT_TRUE(a.values<int32_t>().empty());
  NDArray c = NDArray::Scalar<double>(2.5);
  c = std::move(b);
  EXPECT_FALSE(b.valid());
  EXPECT_EQ(b.raw_data(), nullptr);
  EXPECT_EQ(b.num_elements(), 0);
  // NOLINTEND(bugprone-use-after-move)
  EXPECT_EQ(c.dtype(), DType::kInt32);
  EXPECT_THAT(c.values<int32_t>(), ::testing::ElementsAre(1, 2, 3));
}

// A BufferAllocator counting its live buffers.
class LiveBuffers : public BufferAllocator {
 public:
  std::shared_ptr<void> AllocateBuffer(size_t bytes) override {
    void* p = std::aligned_alloc(NDArray::kAlignment,
                                 std::max<size_t>(bytes, NDArray::kAlignment));
    ++live_;
    return std::shared_ptr<void>(p, [this](void* q) {
      std::free(q);
      --live_;
    });
  }
  int live() const { return live_; }

 private:
  std::atomic<int> live_{0};
};

// Move-assignment releases what the target held (out of line) before taking
// the source's members: exactly once, and never a buffer still shared.
TEST(NDArray, MoveAssignReleasesTheTargetsOldArrayOnce) {
  LiveBuffers buffers;
  {
    NDArray a = *NDArray::AllocateChecked(DType::kInt32, Shape{3}, 0, &buffers);
    NDArray b =
        *NDArray::AllocateChecked(DType::kFloat64, Shape{2, 2}, 0, &buffers);
    const void* b_data = b.raw_data();
    ASSERT_EQ(buffers.live(), 2);
    a = std::move(b);
    EXPECT_EQ(buffers.live(), 1);  // a's old buffer, and only it, is gone.
    EXPECT_EQ(a.dtype(), DType::kFloat64);
    EXPECT_EQ(a.shape(), (Shape{2, 2}));
    EXPECT_EQ(a.num_elements(), 4);
    EXPECT_EQ(a.raw_data(), b_data);
    // NOLINTBEGIN(bugprone-use-after-move): the moved-from state is tested.
    EXPECT_FALSE(b.valid());
    EXPECT_EQ(b.shape(), Shape{});
    // NOLINTEND(bugprone-use-after-move)

    NDArray shared = a;  // A second reference to a's buffer.
    NDArray c = *NDArray::AllocateChecked(DType::kInt32, Shape{5}, 0, &buffers);
    ASSERT_EQ(buffers.live(), 2);
    c = std::move(shared);  // c's old buffer goes; a's stays (still in a).
    EXPECT_EQ(buffers.live(), 1);
    EXPECT_TRUE(c.SharesBufferWith(a));
    a = NDArray();  // c still holds it.
    EXPECT_EQ(buffers.live(), 1);
    EXPECT_EQ(c.shape(), (Shape{2, 2}));

    NDArray& self = c;
    c = std::move(self);  // Self-move keeps the array.
    EXPECT_TRUE(c.valid());
    EXPECT_EQ(c.shape(), (Shape{2, 2}));
    EXPECT_EQ(buffers.live(), 1);
  }
  EXPECT_EQ(buffers.live(), 0);
}

TEST(NDArray, Scalar) {
  NDArray a = NDArray::Scalar(2.5f);
  EXPECT_TRUE(a.valid());
  EXPECT_EQ(a.dtype(), DType::kFloat32);
  EXPECT_TRUE(a.shape().IsScalar());
  EXPECT_EQ(a.num_elements(), 1);
  EXPECT_EQ(a.num_bytes(), 4u);
  EXPECT_THAT(a.values<float>(), ElementsAre(2.5f));
}

TEST(NDArray, Vector) {
  NDArray a = NDArray::Vector<int64_t>({1, 2, 3});
  EXPECT_EQ(a.dtype(), DType::kInt64);
  EXPECT_EQ(a.shape(), Shape{3});
  EXPECT_EQ(a.num_elements(), 3);
  EXPECT_THAT(a.values<int64_t>(), ElementsAre(1, 2, 3));
}

TEST(NDArray, EmptyVector) {
  NDArray a = NDArray::Vector<float>({});
  EXPECT_TRUE(a.valid());
  EXPECT_EQ(a.shape(), Shape{0});
  EXPECT_EQ(a.num_elements(), 0);
  EXPECT_TRUE(a.values<float>().empty());
  EXPECT_EQ(a.DebugString(), "float32[0]{}");
}

TEST(NDArray, Create) {
  absl::StatusOr<NDArray> a =
      NDArray::Create<double>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->dtype(), DType::kFloat64);
  EXPECT_EQ(a->shape(), (Shape{2, 3}));
  EXPECT_THAT(a->values<double>(), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(NDArray, CreateShapeMismatchIsAnError) {
  absl::StatusOr<NDArray> a = NDArray::Create<float>({1, 2, 3}, Shape{2, 2});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr("[2,2]"));
  EXPECT_THAT(a.status().message(), HasSubstr("holds 4 elements but 3"));
}

TEST(NDArray, CreateBadShapeIsAnError) {
  absl::StatusOr<NDArray> negative = NDArray::Create<float>({1}, Shape{-2});
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(negative.status().message(), HasSubstr("dimension 0 is -2"));

  absl::StatusOr<NDArray> unknown = NDArray::Create<float>({1, 2}, Shape{-1});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown dimension"));
}

TEST(NDArray, ValuesWithWrongTypeIsEmpty) {
  NDArray a = NDArray::Vector<float>({1, 2});
  EXPECT_TRUE(a.values<double>().empty());
  EXPECT_TRUE(a.values<int32_t>().empty());
  EXPECT_TRUE(a.values<bool>().empty());
  EXPECT_EQ(a.values<float>().size(), 2u);
}

TEST(NDArray, CheckedValues) {
  NDArray a = NDArray::Vector<int32_t>({7, 8});
  absl::StatusOr<absl::Span<const int32_t>> ok = a.CheckedValues<int32_t>();
  ASSERT_TRUE(ok.ok());
  EXPECT_THAT(*ok, ElementsAre(7, 8));

  absl::StatusOr<absl::Span<const float>> bad = a.CheckedValues<float>();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("holds int32, not float32"));
}

TEST(NDArray, RawDataIs64ByteAligned) {
  for (int n : {0, 1, 3, 17, 1000}) {
    NDArray a = NDArray::Vector<double>(std::vector<double>(n, 1.0));
    ASSERT_NE(a.raw_data(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.raw_data()) % NDArray::kAlignment,
              0u)
        << n;
  }
  NDArray s = NDArray::Scalar<bool>(true);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(s.raw_data()) % 64, 0u);
}

TEST(NDArray, CopySharesBuffer) {
  NDArray a = NDArray::Vector<float>({1, 2, 3});
  NDArray b = a;
  EXPECT_TRUE(a.SharesBufferWith(b));
  EXPECT_EQ(a.raw_data(), b.raw_data());
  EXPECT_TRUE(a.Equals(b));

  NDArray c = NDArray::Vector<float>({1, 2, 3});
  EXPECT_FALSE(a.SharesBufferWith(c));
  EXPECT_TRUE(a.Equals(c));
  EXPECT_FALSE(NDArray().SharesBufferWith(NDArray()));
}

TEST(NDArray, CopyOutlivesOriginal) {
  NDArray b;
  {
    NDArray a = NDArray::Vector<int32_t>({4, 5});
    b = a;
  }
  EXPECT_THAT(b.values<int32_t>(), ElementsAre(4, 5));
}

TEST(NDArray, Reshaped) {
  NDArray a = NDArray::Vector<int32_t>({1, 2, 3, 4, 5, 6});
  absl::StatusOr<NDArray> r = a.Reshaped(Shape{3, 2});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->shape(), (Shape{3, 2}));
  EXPECT_TRUE(r->SharesBufferWith(a));
  EXPECT_THAT(r->values<int32_t>(), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_EQ(a.shape(), Shape{6});  // The original is unchanged.

  absl::StatusOr<NDArray> bad = a.Reshaped(Shape{4, 2});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("cannot reshape [6]"));

  absl::StatusOr<NDArray> unknown = a.Reshaped(Shape{-1, 2});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(NDArray, DebugString) {
  absl::StatusOr<NDArray> a = NDArray::Create<float>({1, 2, 3, 4}, Shape{2, 2});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->DebugString(), "float32[2,2]{1, 2, 3, 4}");
  EXPECT_EQ(NDArray::Scalar<int64_t>(-7).DebugString(), "int64[]{-7}");
  EXPECT_EQ(NDArray::Vector<int32_t>({1, 2, 3, 4, 5}).DebugString(2),
            "int32[5]{1, 2, ... (5 in all)}");
  EXPECT_EQ(NDArray().DebugString(), "float32[]{}");
}

TEST(NDArray, BoolArrays) {
  NDArray a = NDArray::Vector<bool>({true, false, true});
  EXPECT_EQ(a.dtype(), DType::kBool);
  EXPECT_EQ(a.num_bytes(), 3u);
  EXPECT_THAT(a.values<bool>(), ElementsAre(true, false, true));
  EXPECT_EQ(a.DebugString(), "bool[3]{true, false, true}");

  absl::StatusOr<NDArray> m =
      NDArray::Create<bool>({true, true, false, false}, Shape{2, 2});
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(m->values<bool>(), ElementsAre(true, true, false, false));

  // Fresh bool arrays start all false.
  NDArray z = NDArray::Uninitialized(DType::kBool, Shape{5});
  EXPECT_THAT(z.values<bool>(), ElementsAre(false, false, false, false, false));
}

TEST(NDArray, DefaultIsInvalid) {
  NDArray a;
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(a.raw_data(), nullptr);
  EXPECT_TRUE(a.values<float>().empty());
  EXPECT_EQ(a.num_elements(), 0);
}

TEST(NDArray, AllocateChecked) {
  absl::StatusOr<NDArray> a = NDArray::AllocateChecked(DType::kInt32, {2, 2});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->num_elements(), 4);
  EXPECT_EQ(NDArray::AllocateChecked(DType::kInt32, Shape{-2}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      NDArray::AllocateChecked(static_cast<DType>(9), Shape{1}).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NDArray::AllocateChecked(DType::kFloat64, Shape{int64_t{1} << 40})
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(NDArray, EqualsHandlesEmptyArraysBothWays) {
  const NDArray empty;
  const NDArray five = NDArray::Scalar<float>(5);
  EXPECT_FALSE(empty.Equals(five));
  EXPECT_FALSE(five.Equals(empty));  // Used to read a null buffer.
  EXPECT_TRUE(empty.Equals(NDArray()));
  EXPECT_FALSE(five.Equals(NDArray::Scalar<float>(6)));
  EXPECT_FALSE(five.Equals(NDArray::Scalar<double>(5)));
  EXPECT_TRUE(five.Equals(NDArray::Scalar<float>(5)));
}

}  // namespace
}  // namespace weft
