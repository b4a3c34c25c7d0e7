#include "hostile_frames.h"

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize-packed.h>
#include <kj/io.h>

#include "rampart.capnp.h"
#include "rampart/wire.h"

namespace rampart::testing {

std::string declaredPodsFrame(uint32_t pods) {
  capnp::MallocMessageBuilder builder;
  auto env = builder.initRoot<proto::Envelope>();
  env.setVersion(wire::kWireVersion);
  auto report = env.initReport();
  report.initNode().setName("worker-b1");
  const unsigned pods_pointer = capnp::Schema::from<proto::NodeReport>()
                                    .getFieldByName("pods")
                                    .getProto()
                                    .getSlot()
                                    .getOffset();
  capnp::toAny(report).getPointerSection()[pods_pointer].initAsListOfAnyStruct(0, 0, pods);
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, builder);
  auto bytes = out.getArray();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

}  // namespace rampart::testing
