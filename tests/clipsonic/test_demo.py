from gm_common.cli import compose


def test_demo_generates_zs_and_pd_with_given_models(world, tmp_path, capsys):
    from clipsonic.demo import run

    written = run(
        compose(
            "clipsonic", "demo", [f"root={tmp_path}", f"models={world.root}", "steps=2", "n=1", "prompt=a blue square"]
        )
    )
    assert sorted(p.name for p in written) == [f"a_blue_square_{m}_0.{e}" for m in ("pd", "zs") for e in ("png", "wav")]
    assert all(p.parent == tmp_path / "generate" and p.is_file() for p in written)
    assert "done. Files:" in capsys.readouterr().out
