#include "config/yaml_guard.h"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <sstream>

#include "config/config.h"

namespace cmkfs::config::detail {

namespace {

// Checks the event stream of the parse; throws at the first thing refused,
// which stops the parser there.
class Guard : public YAML::EventHandler {
public:
    explicit Guard(const std::string &source) : source_(source) {}

    void OnDocumentStart(const YAML::Mark &mark) override {
        if (++documents_ > 1) second_document_ = mark;
    }
    void OnDocumentEnd() override {
        if (documents_ > 1) second_document(second_document_);
    }
    void OnNull(const YAML::Mark &mark, YAML::anchor_t anchor) override { node(mark, anchor); }
    void OnAlias(const YAML::Mark &mark, YAML::anchor_t) override {
        refuse(mark, "(alias)", "expected no YAML aliases (write the value out), got an alias");
    }
    void OnScalar(const YAML::Mark &mark, const std::string &, YAML::anchor_t anchor, const std::string &) override {
        node(mark, anchor);
    }
    void OnSequenceStart(const YAML::Mark &mark, const std::string &, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(mark, anchor);
    }
    void OnSequenceEnd() override { --depth_; }
    void OnMapStart(const YAML::Mark &mark, const std::string &, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(mark, anchor);
    }
    void OnMapEnd() override { --depth_; }
    void OnAnchor(const YAML::Mark &mark, const std::string &) override { anchor_refused(mark); }

private:
    [[noreturn]] void refuse(const YAML::Mark &at, const std::string &what, const std::string &detail) const {
        throw ConfigError(source_, std::max(at.line, 0) + 1, std::max(at.column, 0) + 1, what, detail);
    }
    [[noreturn]] void anchor_refused(const YAML::Mark &at) const {
        refuse(at, "(anchor)", "expected no YAML anchors (write the value out), got an anchor");
    }
    // Blamed on the second document's first node when it has one.
    [[noreturn]] void second_document(const YAML::Mark &at) const {
        refuse(at, "(document)", "expected a single YAML document, got a second one");
    }
    void node(const YAML::Mark &mark, YAML::anchor_t anchor) {
        if (documents_ > 1) second_document(mark);
        if (anchor != YAML::NullAnchor) anchor_refused(mark);
        if (++events_ > kMaxYamlEvents)
            refuse(mark, "(document)", "expected at most " + std::to_string(kMaxYamlEvents) + " values, got more");
    }
    void open(const YAML::Mark &mark, YAML::anchor_t anchor) {
        node(mark, anchor);
        if (++depth_ > kMaxYamlDepth)
            refuse(mark, "(document)",
                   "expected nesting at most " + std::to_string(kMaxYamlDepth) + " levels deep, got deeper");
    }

    const std::string &source_;
    int documents_ = 0;
    YAML::Mark second_document_;
    int depth_ = 0;
    size_t events_ = 0;
};

}  // namespace

YAML::Node load_bounded_document(const std::string &text, const std::string &source) {
    try {
        {
            std::istringstream in(text);
            YAML::Parser parser(in);
            Guard guard(source);
            // The guard refuses a second document at its start: at most two rounds.
            for (int round = 0; round < 2 && parser.HandleNextDocument(guard); ++round) {
            }
        }
        // Checked: one document, no aliases, shallow. Load builds only the first.
        return YAML::Load(text);
    } catch (const YAML::Exception &e) {
        throw ConfigError(source, std::max(e.mark.line, 0) + 1, std::max(e.mark.column, 0) + 1, "(syntax)",
                          "expected valid YAML, got " + e.msg);
    }
}

}  // namespace cmkfs::config::detail
