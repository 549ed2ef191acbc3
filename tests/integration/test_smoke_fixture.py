from conftest import CommandCounter

from mongo_layer import MongoDataLayer


async def test_a_thread_written_is_read_back(layer: MongoDataLayer, commands: CommandCounter) -> None:
    await layer.update_thread("t1", name="hello")
    assert commands.count == 1
    thread = await layer.get_thread("t1")
    assert thread is not None and thread["name"] == "hello"
