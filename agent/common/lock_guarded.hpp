#pragma once
// LockGuarded<T>: data that can only be reached with its mutex held
// (STYLE.md §6; pdns LockGuarded). lock() returns a handle that holds the
// lock for its lifetime.

#include <condition_variable>
#include <mutex>
#include <utility>

namespace haes {

template <class T>
class LockGuarded {
 public:
  template <class... Args>
  explicit LockGuarded(Args&&... args) : value_(std::forward<Args>(args)...) {}

  class Handle {
   public:
    Handle(std::mutex& m, T& v) : lock_(m), value_(&v) {}
    T* operator->() { return value_; }
    T& operator*() { return *value_; }
    std::unique_lock<std::mutex>& unique_lock() { return lock_; }

   private:
    std::unique_lock<std::mutex> lock_;
    T* value_;
  };

  Handle lock() { return Handle(mutex_, value_); }

 private:
  std::mutex mutex_;
  T value_;
};

}  // namespace haes
