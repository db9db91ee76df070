#include "metrics/registry.h"

#include <charconv>
#include <stdexcept>

namespace cmkfs::metrics {

namespace {
bool name_char(char c, bool first, bool colon_ok) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
    if (colon_ok && c == ':') return true;
    return !first && c >= '0' && c <= '9';
}

bool valid_name(const std::string &name, bool colon_ok) {
    if (name.empty()) return false;
    for (size_t i = 0; i < name.size(); ++i)
        if (!name_char(name[i], i == 0, colon_ok)) return false;
    return true;
}

// The shortest text that reads back as the same double ("0.005", "1e-05").
std::string format_bound(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
}
}  // namespace

const char *to_string(Type t) {
    switch (t) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
    }
    return "untyped";
}

bool valid_metric_name(const std::string &name) { return valid_name(name, true); }

bool valid_label_name(const std::string &name) {
    // "__" is reserved for Prometheus' internal labels.
    return valid_name(name, false) && name.rfind("__", 0) != 0;
}

FamilyBase::FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {
    if (!valid_metric_name(name_)) throw std::invalid_argument("invalid metric name '" + name_ + "'");
    for (const auto &l : label_names_) {
        if (!valid_label_name(l)) throw std::invalid_argument(name_ + ": invalid label name '" + l + "'");
        if (type_ == Type::histogram && l == "le")
            throw std::invalid_argument(name_ + ": 'le' is reserved for histogram buckets");
    }
}

void FamilyBase::check_arity(const std::vector<std::string> &values) const {
    if (values.size() != label_names_.size())
        throw std::invalid_argument(name_ + ": expected " + std::to_string(label_names_.size()) +
                                    " label values, got " + std::to_string(values.size()));
}

Labels FamilyBase::labels_for(const std::vector<std::string> &values) const {
    Labels labels;
    for (size_t i = 0; i < label_names_.size(); ++i) labels.emplace_back(label_names_[i], values[i]);
    return labels;
}

template <>
FamilySnapshot Family<Counter>::snapshot() const {
    FamilySnapshot snap{name_, help_, type_, {}};
    std::lock_guard guard(mutex_);
    for (const auto &[values, c] : children_)
        snap.samples.push_back({name_, labels_for(values), static_cast<double>(c->value())});
    return snap;
}

template <>
FamilySnapshot Family<Gauge>::snapshot() const {
    FamilySnapshot snap{name_, help_, type_, {}};
    std::lock_guard guard(mutex_);
    for (const auto &[values, g] : children_)
        snap.samples.push_back({name_, labels_for(values), static_cast<double>(g->value())});
    return snap;
}

template <>
FamilySnapshot Family<Histogram>::snapshot() const {
    FamilySnapshot snap{name_, help_, type_, {}};
    std::lock_guard guard(mutex_);
    for (const auto &[values, h] : children_) {
        const Labels base = labels_for(values);
        const Histogram::Snapshot s = h->snapshot();
        for (size_t i = 0; i < s.cumulative.size(); ++i) {
            Labels labels = base;
            labels.emplace_back("le", i < s.upper_bounds.size() ? format_bound(s.upper_bounds[i]) : "+Inf");
            snap.samples.push_back({name_ + "_bucket", std::move(labels), static_cast<double>(s.cumulative[i])});
        }
        snap.samples.push_back({name_ + "_sum", base, s.sum_seconds});
        snap.samples.push_back({name_ + "_count", base, static_cast<double>(s.count)});
    }
    return snap;
}

template <class F>
F &Registry::add(const std::string &name, Type type, const std::vector<std::string> &labels,
                 std::function<std::unique_ptr<F>()> make) {
    std::lock_guard guard(mutex_);
    for (auto &f : families_) {
        if (f->name() != name) continue;
        auto *same = dynamic_cast<F *>(f.get());
        if (same == nullptr || f->type() != type || f->label_names() != labels)
            throw std::invalid_argument("metric " + name + " is already registered with another type or labels");
        return *same;
    }
    families_.push_back(make());
    return static_cast<F &>(*families_.back());
}

Family<Counter> &Registry::counter_family(const std::string &name, const std::string &help,
                                          const std::vector<std::string> &label_names) {
    return add<Family<Counter>>(name, Type::counter, label_names, [&] {
        return std::make_unique<Family<Counter>>(name, help, Type::counter, label_names);
    });
}

Family<Gauge> &Registry::gauge_family(const std::string &name, const std::string &help,
                                      const std::vector<std::string> &label_names) {
    return add<Family<Gauge>>(name, Type::gauge, label_names, [&] {
        return std::make_unique<Family<Gauge>>(name, help, Type::gauge, label_names);
    });
}

Family<Histogram> &Registry::histogram_family(const std::string &name, const std::string &help,
                                              const std::vector<std::string> &label_names,
                                              const std::vector<double> &upper_bounds) {
    Histogram probe(upper_bounds);  // validates the bounds before anything is registered
    return add<Family<Histogram>>(name, Type::histogram, label_names, [&] {
        return std::make_unique<Family<Histogram>>(name, help, Type::histogram, label_names, upper_bounds);
    });
}

CollectHook Registry::on_collect(std::function<void()> hook) {
    std::lock_guard guard(hooks_mutex_);
    const uint64_t id = next_hook_++;
    hooks_.emplace(id, std::move(hook));
    return CollectHook(this, id);
}

void Registry::remove_hook(uint64_t id) {
    std::lock_guard guard(hooks_mutex_);
    hooks_.erase(id);
}

std::vector<FamilySnapshot> Registry::collect() const {
    {
        // Held while hooks run, so a hook's owner cannot be destroyed mid-call
        // (its CollectHook's destructor waits here).
        std::lock_guard guard(hooks_mutex_);
        for (const auto &[id, hook] : hooks_) hook();
    }
    std::vector<FamilySnapshot> out;
    std::lock_guard guard(mutex_);
    for (const auto &f : families_) out.push_back(f->snapshot());
    return out;
}

CollectHook::~CollectHook() {
    if (registry_ != nullptr) registry_->remove_hook(id_);
}

CollectHook::CollectHook(CollectHook &&other) noexcept : registry_(other.registry_), id_(other.id_) {
    other.registry_ = nullptr;
}

CollectHook &CollectHook::operator=(CollectHook &&other) noexcept {
    if (this != &other) {
        if (registry_ != nullptr) registry_->remove_hook(id_);
        registry_ = other.registry_;
        id_ = other.id_;
        other.registry_ = nullptr;
    }
    return *this;
}

Registry &registry() {
    static Registry *const instance = new Registry();  // never destroyed: threads may record during exit
    return *instance;
}

}  // namespace cmkfs::metrics
