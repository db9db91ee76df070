// Named metric families with labels, and the registry that owns them.
//
// A family is created once (at start-up, or on first use) and its children
// are looked up once per label set and then kept by reference: the data path
// only ever touches an instrument it already holds. Lookups (with()) take a
// mutex; recording does not.
//
//   auto &opened = metrics::registry().counter("cmkfs_x_total", "What it counts.");
//   opened.inc();
//   metrics::registry().gauge_family("cmkfs_y", "What it is.", {"state"}).with({"mounted"}).set(3);
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/instruments.h"

namespace cmkfs::metrics {

enum class Type { counter, gauge, histogram };
const char *to_string(Type t);

using Labels = std::vector<std::pair<std::string, std::string>>;

// One line of the exposition: full sample name (with _bucket/_sum/_count for
// histograms), its labels in order, and its value.
struct Sample {
    std::string name;
    Labels labels;
    double value = 0;
};

struct FamilySnapshot {
    std::string name;
    std::string help;
    Type type = Type::counter;
    std::vector<Sample> samples;
};

// Metric and label names as Prometheus accepts them.
bool valid_metric_name(const std::string &name);
bool valid_label_name(const std::string &name);

class FamilyBase {
public:
    FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names);
    virtual ~FamilyBase() = default;
    FamilyBase(const FamilyBase &) = delete;
    FamilyBase &operator=(const FamilyBase &) = delete;

    const std::string &name() const { return name_; }
    const std::string &help() const { return help_; }
    Type type() const { return type_; }
    const std::vector<std::string> &label_names() const { return label_names_; }
    virtual FamilySnapshot snapshot() const = 0;

protected:
    Labels labels_for(const std::vector<std::string> &values) const;
    void check_arity(const std::vector<std::string> &values) const;

    std::string name_;
    std::string help_;
    Type type_;
    std::vector<std::string> label_names_;
};

template <class T>
class Family : public FamilyBase {
public:
    template <class... Args>
    Family(std::string name, std::string help, Type type, std::vector<std::string> label_names, Args... args)
        : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
          make_([args...] { return std::make_unique<T>(args...); }) {}

    // The child for these label values (in label_names() order), created at
    // first use. The reference stays valid until remove()/clear() of it.
    T &with(const std::vector<std::string> &values) {
        check_arity(values);
        std::lock_guard guard(mutex_);
        auto &slot = children_[values];
        if (!slot) slot = make_();
        return *slot;
    }
    // Drops one child (a label set that no longer describes anything, e.g. the
    // key id before a rotation). Callers must not hold a reference to it.
    void remove(const std::vector<std::string> &values) {
        std::lock_guard guard(mutex_);
        children_.erase(values);
    }
    void clear() {
        std::lock_guard guard(mutex_);
        children_.clear();
    }

    FamilySnapshot snapshot() const override;

private:
    std::function<std::unique_ptr<T>()> make_;
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

// Removes its hook from the registry when destroyed.
class CollectHook {
public:
    CollectHook() = default;
    CollectHook(class Registry *registry, uint64_t id) : registry_(registry), id_(id) {}
    ~CollectHook();
    CollectHook(CollectHook &&other) noexcept;
    CollectHook &operator=(CollectHook &&other) noexcept;
    CollectHook(const CollectHook &) = delete;
    CollectHook &operator=(const CollectHook &) = delete;

private:
    class Registry *registry_ = nullptr;
    uint64_t id_ = 0;
};

class Registry {
public:
    Registry() = default;
    Registry(const Registry &) = delete;
    Registry &operator=(const Registry &) = delete;

    // Registering a name again with the same type and labels returns the
    // existing family; anything else under a taken name throws
    // std::invalid_argument, as do invalid names.
    Family<Counter> &counter_family(const std::string &name, const std::string &help,
                                    const std::vector<std::string> &label_names);
    Family<Gauge> &gauge_family(const std::string &name, const std::string &help,
                                const std::vector<std::string> &label_names);
    Family<Histogram> &histogram_family(const std::string &name, const std::string &help,
                                        const std::vector<std::string> &label_names,
                                        const std::vector<double> &upper_bounds = latency_buckets());

    // Unlabelled shorthands.
    Counter &counter(const std::string &name, const std::string &help) { return counter_family(name, help, {}).with({}); }
    Gauge &gauge(const std::string &name, const std::string &help) { return gauge_family(name, help, {}).with({}); }
    Histogram &histogram(const std::string &name, const std::string &help,
                         const std::vector<double> &upper_bounds = latency_buckets()) {
        return histogram_family(name, help, {}, upper_bounds).with({});
    }

    // Runs `hook` at the start of every collect(), before the snapshot: for
    // values cheaper to compute when scraped than to maintain (a count of
    // volumes, the age of something). Runs on the scraping thread.
    [[nodiscard]] CollectHook on_collect(std::function<void()> hook);

    // Every family in registration order, children in label order.
    std::vector<FamilySnapshot> collect() const;

private:
    friend class CollectHook;
    template <class F>
    F &add(const std::string &name, Type type, const std::vector<std::string> &labels,
           std::function<std::unique_ptr<F>()> make);
    void remove_hook(uint64_t id);

    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<FamilyBase>> families_;
    mutable std::mutex hooks_mutex_;
    std::map<uint64_t, std::function<void()>> hooks_;
    uint64_t next_hook_ = 1;
};

// The process' registry: what `-o metrics=` serves and `cmkfs stats` prints.
Registry &registry();

}  // namespace cmkfs::metrics
