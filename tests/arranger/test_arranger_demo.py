import pytest


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, monkeypatch):
    import arranger.demo as demo

    monkeypatch.chdir(tmp_path)  # the demo writes under ./outputs/demo/arranger
    paths = demo.main(minutes=0.25)
    assert paths["midi"].is_file() and paths["png"].is_file() and paths["mixture"].is_file()
    # a second run reuses the model
    assert demo.main(minutes=0.25)["midi"].is_file()
