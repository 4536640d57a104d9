import threading
import time

from studio.models import TOOLKITS, ModelCache, shipped


def test_a_model_loads_once_however_many_requests_ask_at_once():
    calls = []

    def load(name):
        calls.append(name)
        time.sleep(0.05)
        return object()

    cache = ModelCache({"mmt": load})
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("mmt", "a"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["a"] and cache.loads == 1 and len({id(m) for m in got}) == 1
    assert cache.is_loaded("mmt", "a") and not cache.is_loaded("mmt", "b")
    with cache.using("mmt", "b") as model:
        assert model is cache.get("mmt", "b")
    assert calls == ["a", "b"]


def test_every_toolkit_ships_models():
    for toolkit in TOOLKITS:
        assert shipped(toolkit), toolkit
    assert (
        "bach_bilstm" in shipped("arranger") and "corpus_tiny" in shipped("mmt") and "everyday" in shipped("clipsonic")
    )
